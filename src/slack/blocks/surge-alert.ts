// Block Kit of the surge alert: each account with what was seen, and *Disable now* / *Expected* buttons
// (or, when the workspace disables on surge, a line saying it was disabled).
import type { SurgeFinding, SurgeSignal, SurgingAccount } from '../../domain/index.ts';
import { SURGE_SIGNALS } from '../../domain/index.ts';
import { ACTION, JOB_ALERT_BLOCK } from '../ids.ts';
import { button, contextLine, esc, header, section, type Block } from './common.ts';
import type { AlertMessage } from './job-alerts.ts';

/** Slack allows 50 blocks; each account takes two. */
export const SURGE_ALERT_MAX_ACCOUNTS = 20;

const SIGNAL_TITLE: Record<SurgeSignal, string> = { volume: 'Volume', network: 'New network', refused: 'Refusals' };

export interface SurgeButtonValue {
  workspaceId: string;
  accountId: string;
  name: string;
  signals: SurgeSignal[];
}

export function encodeSurgeButton(v: SurgeButtonValue): string {
  return JSON.stringify({ w: v.workspaceId, a: v.accountId, n: v.name, s: v.signals });
}

export function decodeSurgeButton(value: string | undefined): SurgeButtonValue | null {
  try {
    const v = JSON.parse(value ?? '') as { w?: unknown; a?: unknown; n?: unknown; s?: unknown };
    if (typeof v.w !== 'string' || typeof v.a !== 'string' || typeof v.n !== 'string' || !Array.isArray(v.s)) return null;
    const signals = v.s.filter((x): x is SurgeSignal => (SURGE_SIGNALS as readonly unknown[]).includes(x));
    return { workspaceId: v.w, accountId: v.a, name: v.n, signals };
  } catch {
    return null;
  }
}

function accountText(s: SurgingAccount): string {
  const lines = s.observations.map((o) => `• *${SIGNAL_TITLE[o.signal]}*: ${esc(o.text)}`);
  return `*${esc(s.account.name)}*  \`${s.account.username}\`\n${lines.join('\n')}`;
}

export function surgeAlertMessage(finding: Pick<SurgeFinding, 'workspace' | 'raised'>, opts: { snoozeHours: number; disabled: readonly string[]; command: string }): AlertMessage {
  const shown = finding.raised.slice(0, SURGE_ALERT_MAX_ACCOUNTS);
  const disabled = new Set(opts.disabled);
  const names = finding.raised.map((s) => s.account.name);
  const blocks: Block[] = [
    header(`Unusual sending in ${finding.workspace.name}`),
    section(
      `${names.length === 1 ? 'An account' : `${names.length} accounts`} behaved unlike ${names.length === 1 ? 'its' : 'their'} own history: a leaked password looks like this. ` +
        `*Disable now* stops every password of the account at once; *Expected* stops this alert for ${opts.snoozeHours} h.`,
      JOB_ALERT_BLOCK.surgeIntro,
    ),
  ];
  for (const s of shown) {
    const value = encodeSurgeButton({ workspaceId: s.account.workspaceId, accountId: s.account.id, name: s.account.name, signals: s.observations.map((o) => o.signal) });
    blocks.push(section(accountText(s), `${JOB_ALERT_BLOCK.surgeAccountPrefix}${s.account.id}`));
    if (disabled.has(s.account.name)) {
      blocks.push({
        ...contextLine(`:no_entry: Disabled automatically (this workspace disables on surge). \`${opts.command} enable ${esc(s.account.name)}\` restores it.`),
        block_id: `${JOB_ALERT_BLOCK.surgeActionsPrefix}${s.account.id}`,
      });
    } else {
      blocks.push({
        type: 'actions',
        block_id: `${JOB_ALERT_BLOCK.surgeActionsPrefix}${s.account.id}`,
        elements: [button('Disable now', ACTION.surgeDisable, value, 'danger'), button(`Expected (${opts.snoozeHours} h)`, ACTION.surgeExpected, value)],
      });
    }
  }
  if (finding.raised.length > shown.length) blocks.push(contextLine(`…and ${finding.raised.length - shown.length} more: \`smtpdesk jobs run surge --dry-run\` lists them.`));
  const text = `Unusual sending in ${finding.workspace.name}: ${names.join(', ')}${disabled.size ? ` (disabled: ${[...disabled].join(', ')})` : ''}`;
  return { text, blocks };
}

/** The alert after a button did its work: that account's buttons become a line saying who did what. */
export function surgeAlertAfterAction(blocks: readonly Block[], accountId: string, outcome: string): Block[] {
  const id = `${JOB_ALERT_BLOCK.surgeActionsPrefix}${accountId}`;
  return blocks.map((b) => (b.block_id === id ? { ...contextLine(outcome), block_id: id } : b));
}
