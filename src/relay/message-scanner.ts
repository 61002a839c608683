// Checks a message as it streams in, without holding more than a line's state: every line must end with
// CRLF (a bare LF or CR is how SMTP smuggling hides a second message; we refuse the whole message rather
// than guess where it ends) and be at most 998 characters long (RFC 5322 2.1.1).
//
// smtp-server ends DATA only on <CRLF>.<CRLF>, so <LF>.<LF>, <LF>.<CRLF> and <CR>.<CR> never end a message
// early: they stay inside it, and this scanner refuses them. It also unstuffs a dot after a bare LF, which
// would change the message; refusing every bare LF covers that too.
//
// A NUL byte is refused the same way (RFC 5322 2.3 and RFC 5321 4.1.1.4 forbid it in a message): receivers
// truncate at it or drop it, so what they show differs from what was checked and stored.
export type BodyProblem = 'bare_lf' | 'bare_cr' | 'nul' | 'line_too_long';

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
export const MAX_LINE_LENGTH = 998;

export class MessageScanner {
  problem: BodyProblem | null = null;
  private lineLength = 0;
  private pendingCR = false;

  push(chunk: Buffer): void {
    if (this.problem || chunk.length === 0) return;
    if (chunk.indexOf(NUL) !== -1) return this.fail('nul');
    let pos = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] !== LF) return this.fail('bare_cr');
      this.lineLength = 0;
      pos = 1;
    }
    const len = chunk.length;
    while (pos < len) {
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        const cr = chunk.indexOf(CR, pos);
        if (cr !== -1 && cr < len - 1) return this.fail('bare_cr');
        this.pendingCR = chunk[len - 1] === CR;
        this.lineLength += len - pos - (this.pendingCR ? 1 : 0);
        if (this.lineLength > MAX_LINE_LENGTH) return this.fail('line_too_long');
        return;
      }
      if (lf === pos || chunk[lf - 1] !== CR) return this.fail('bare_lf');
      // There is a CR at lf - 1, so this finds one at or before it; any earlier CR is bare.
      if (chunk.indexOf(CR, pos) < lf - 1) return this.fail('bare_cr');
      this.lineLength += lf - 1 - pos;
      if (this.lineLength > MAX_LINE_LENGTH) return this.fail('line_too_long');
      this.lineLength = 0;
      pos = lf + 1;
    }
  }

  /** Call once the stream has ended. */
  end(): BodyProblem | null {
    if (!this.problem && this.pendingCR) this.problem = 'bare_cr';
    return this.problem;
  }

  private fail(p: BodyProblem): void {
    this.problem = p;
  }
}

export interface HeaderSummary {
  messageId?: string;
  subject?: string;
  /** Whether the message has a Date header (the relay adds one when it has none). */
  hasDate: boolean;
}

/** Message-ID, Subject and whether there is a Date, from the header block. */
export function headerSummary(body: Buffer): HeaderSummary {
  const out: HeaderSummary = { hasDate: false };
  for (const [name, value] of headerFields(body)) {
    if (name === 'message-id' && out.messageId === undefined) out.messageId = value;
    if (name === 'subject' && out.subject === undefined) out.subject = value;
    if (name === 'date') out.hasDate = true;
  }
  return out;
}

/**
 * The addresses of every From: header (a list and several headers included, display names and comments
 * dropped); null when the message has no From: at all. For the allowed-senders check at the end of DATA.
 */
export function headerFromAddresses(body: Buffer): string[] | null {
  let found = false;
  const out: string[] = [];
  for (const [name, value] of headerFields(body)) {
    if (name !== 'from') continue;
    found = true;
    out.push(...mailboxesOf(value));
  }
  return found ? out : null;
}

/** Unfolded header fields of the header block (first 64 KiB): [lower-cased name, value]. */
function headerFields(body: Buffer): [string, string][] {
  const limit = Math.min(body.length, 64 * 1024);
  // A message that starts with an empty line has no header block at all.
  let end = body.subarray(0, 2).toString('latin1') === '\r\n' ? 0 : body.indexOf('\r\n\r\n', 0, 'latin1');
  if (end === -1 || end > limit) end = limit;
  const lines = body.subarray(0, end).toString('utf8').split('\r\n');
  const fields: [string, string][] = [];
  let current = '';
  const take = (line: string) => {
    const i = line.indexOf(':');
    if (i <= 0) return;
    fields.push([
      line.slice(0, i).trim().toLowerCase(),
      line
        .slice(i + 1)
        .trim()
        .slice(0, 998),
    ]);
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line)) current += ` ${line.trim()}`;
    else {
      take(current);
      current = line;
    }
  }
  take(current);
  return fields;
}

/**
 * Addresses of an RFC 5322 mailbox-list: "Name <a@x>, b@y (comment), \"q, uoted\" <c@z>". Quoted strings and
 * comments are removed first so their commas and angle brackets cannot hide an address; anything that is not
 * an address is returned as it is, so the caller refuses it rather than skip it.
 */
function mailboxesOf(value: string): string[] {
  const cleaned = value.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const out: string[] = [];
  // Group syntax "team: a@x, b@y;" keeps only the members.
  for (const part of cleaned
    .replace(/^[^:<>@,]*:/, '')
    .replace(/;\s*$/, '')
    .split(',')) {
    const p = part.trim();
    if (!p) continue;
    const angle = /<([^<>]*)>/.exec(p);
    out.push((angle ? angle[1]! : p).trim());
  }
  return out;
}
