// Slash command text -> a subcommand. Pure: no Slack, no database. Anything unknown or malformed becomes
// { kind: 'help', problem } so the user sees the help with what was wrong.
import { parseDisableReason, parseSince, type DisableReason } from '../../domain/index.ts';

export type ListSort = 'name' | 'created' | 'last-used';

export type Subcommand =
  | { kind: 'list'; idleDays?: number; sort?: ListSort }
  | { kind: 'show'; name: string }
  | { kind: 'create'; name?: string }
  | { kind: 'rotate'; name: string }
  | { kind: 'disable'; name: string; reason?: DisableReason; note?: string }
  | { kind: 'enable'; name: string }
  | { kind: 'delete'; name: string }
  | { kind: 'usage' }
  | { kind: 'plan'; set?: string }
  | { kind: 'audit'; name?: string }
  | { kind: 'domains' }
  | { kind: 'domains-add'; domain?: string }
  | { kind: 'suppressions'; change?: { op: 'add' | 'remove'; address: string } }
  | { kind: 'request'; name: string; reason?: string }
  | { kind: 'trace'; query: string; sinceMs?: number }
  | { kind: 'help'; problem?: string };

/** Words, keeping "quoted phrases" (straight or curly quotes, as Slack clients type them) together. */
export function tokenize(text: string): { words: string[]; quoted: boolean[] } {
  const words: string[] = [];
  const quoted: boolean[] = [];
  const re = /"([^"]*)"|“([^”]*)”|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const q = m[1] ?? m[2] ?? m[3];
    words.push(q ?? m[4] ?? '');
    quoted.push(q !== undefined);
  }
  return { words, quoted };
}

const ALIASES: Record<string, string> = { ls: 'list', new: 'create', add: 'create', rm: 'delete', remove: 'delete', info: 'show', '?': 'help' };

export function parseSubcommand(text: string): Subcommand {
  const { words, quoted } = tokenize(text.trim());
  if (words.length === 0) return { kind: 'help' };
  const head = words[0]!.toLowerCase();
  const verb = ALIASES[head] ?? head;
  const args = words.slice(1);
  const argsQuoted = quoted.slice(1);
  const rest = args.join(' ').trim();
  const needName = (kind: 'show' | 'rotate' | 'enable' | 'delete'): Subcommand =>
    rest ? { kind, name: rest } : { kind: 'help', problem: `\`${verb}\` needs an account name: \`${verb} NAME\`.` };

  switch (verb) {
    case 'list':
      return parseList(args);
    case 'show':
    case 'rotate':
    case 'enable':
    case 'delete':
      return needName(verb);
    case 'create':
      return rest ? { kind: 'create', name: rest } : { kind: 'create' };
    case 'disable':
      return parseDisable(args, argsQuoted);
    case 'usage':
      return args.length ? { kind: 'help', problem: '`usage` takes no arguments.' } : { kind: 'usage' };
    case 'plan':
      if (args.length === 0) return { kind: 'plan' };
      if (args[0]!.toLowerCase() === 'set' && args.length === 2) return { kind: 'plan', set: args[1]! };
      return { kind: 'help', problem: '`plan` shows the plan; `plan set PLAN` changes it (e.g. `plan set 20k`).' };
    case 'audit':
      return rest ? { kind: 'audit', name: rest } : { kind: 'audit' };
    case 'domains':
    case 'domain':
      if (args.length === 0) return { kind: 'domains' };
      if (args[0]!.toLowerCase() === 'add' && args.length <= 2) return args[1] ? { kind: 'domains-add', domain: args[1] } : { kind: 'domains-add' };
      return { kind: 'help', problem: '`domains` lists the sending domains; `domains add [DOMAIN]` adds one (admins).' };
    case 'suppressions':
    case 'suppression': {
      if (args.length === 0) return { kind: 'suppressions' };
      const op = args[0]!.toLowerCase();
      if ((op === 'add' || op === 'remove') && args.length === 2) return { kind: 'suppressions', change: { op, address: args[1]! } };
      return { kind: 'help', problem: '`suppressions` lists the suppressed addresses; `suppressions add ADDRESS` and `suppressions remove ADDRESS` change the list (admins).' };
    }
    case 'request':
      if (args.length === 0) return { kind: 'help', problem: '`request` needs an account name: `request NAME [what it is for]`.' };
      return args.length > 1 ? { kind: 'request', name: args[0]!, reason: args.slice(1).join(' ') } : { kind: 'request', name: args[0]! };
    case 'trace':
    case 'find':
      return parseTrace(args);
    case 'help':
      return { kind: 'help' };
    default:
      return { kind: 'help', problem: `Unknown subcommand "${words[0]}".` };
  }
}

function parseList(args: string[]): Subcommand {
  const out: { kind: 'list'; idleDays?: number; sort?: ListSort } = { kind: 'list' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.toLowerCase();
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = inline ?? args[i + 1];
    if (flag === '--idle' || flag === 'idle') {
      if (value === undefined || !/^\d{1,5}$/.test(value)) return { kind: 'help', problem: '`--idle` takes a number of days, e.g. `list --idle 60`.' };
      out.idleDays = Number(value);
      if (inline === undefined) i++;
    } else if (flag === '--sort') {
      if (value !== 'name' && value !== 'created' && value !== 'last-used') return { kind: 'help', problem: '`--sort` takes name, created or last-used.' };
      out.sort = value;
      if (inline === undefined) i++;
    } else {
      return { kind: 'help', problem: `\`list\` does not know "${args[i]}".` };
    }
  }
  return out;
}

function asReason(word: string): DisableReason | undefined {
  try {
    return parseDisableReason(word);
  } catch {
    return undefined;
  }
}

/**
 * `disable NAME [reason] [details…]`. A quoted first word is the whole name; otherwise the name runs up to the
 * first word that is a reason (maintenance, compromise, decommissioning, other…); words after it are details.
 * Without a reason word the whole text is the name and the modal asks for the reason.
 */
function parseDisable(args: string[], quoted: boolean[]): Subcommand {
  if (args.length === 0) return { kind: 'help', problem: '`disable` needs an account name: `disable NAME [reason]`.' };
  let nameEnd = args.length;
  if (quoted[0]) nameEnd = 1;
  else {
    for (let i = 1; i < args.length; i++) {
      if (asReason(args[i]!)) {
        nameEnd = i;
        break;
      }
      // "suspected compromise" in two words
      if (args[i]!.toLowerCase() === 'suspected' && asReason(`${args[i]} ${args[i + 1] ?? ''}`)) {
        nameEnd = i;
        break;
      }
    }
  }
  const name = args.slice(0, nameEnd).join(' ');
  const after = args.slice(nameEnd);
  const out: { kind: 'disable'; name: string; reason?: DisableReason; note?: string } = { kind: 'disable', name };
  if (after.length === 0) return out;
  let used = 0;
  let reason = asReason(after[0]!);
  if (reason) used = 1;
  else if (after.length > 1 && (reason = asReason(`${after[0]} ${after[1]}`))) used = 2;
  if (reason) out.reason = reason;
  const note = after.slice(used).join(' ').trim();
  if (note) {
    out.note = note;
    out.reason ??= 'other';
  }
  return out;
}

/** `trace <recipient | Message-ID | queue id> [--since 7d]`. */
function parseTrace(args: string[]): Subcommand {
  const usage = '`trace` takes a recipient address, a Message-ID or a queue id, and optionally `--since 7d`.';
  let query: string | undefined;
  let sinceMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') && a.startsWith('--') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag.toLowerCase() === '--since') {
      const ms = parseSince(inline ?? args[i + 1] ?? '');
      if (ms === null) return { kind: 'help', problem: '`--since` takes a duration such as 30m, 12h, 7d or 2w.' };
      sinceMs = ms;
      if (inline === undefined) i++;
    } else if (query === undefined) {
      query = a;
    } else {
      return { kind: 'help', problem: usage };
    }
  }
  if (!query) return { kind: 'help', problem: usage };
  return sinceMs === undefined ? { kind: 'trace', query } : { kind: 'trace', query, sinceMs };
}
