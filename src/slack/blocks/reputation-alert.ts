// Block Kit of the reputation warning: each account with its 30-day bounce and complaint rates against the
// workspace's levels, and *Pause now* / *Expected* buttons (or a line saying the guard paused it).
import { percent, type ReputationConcern, type ReputationFinding } from '../../domain/index.ts';
import { ACTION, JOB_ALERT_BLOCK } from '../ids.ts';
import { button, contextLine, esc, header, section, type Block } from './common.ts';
import type { AlertMessage } from './job-alerts.ts';

/** Slack allows 50 blocks; each account takes two. */
const MAX_ACCOUNTS = 20;

export interface ReputationButtonValue {
  workspaceId: string;
  accountId: string;
  name: string;
}

export function encodeReputationButton(v: ReputationButtonValue): string {
  return JSON.stringify({ w: v.workspaceId, a: v.accountId, n: v.name });
}

export function decodeReputationButton(value: string | undefined): ReputationButtonValue | null {
  try {
    const v = JSON.parse(value ?? '') as { w?: unknown; a?: unknown; n?: unknown };
    if (typeof v.w !== 'string' || typeof v.a !== 'string' || typeof v.n !== 'string') return null;
    return { workspaceId: v.w, accountId: v.a, name: v.n };
  } catch {
    return null;
  }
}

function accountText(c: ReputationConcern): string {
  const r = c.rates;
  return (
    `*${esc(c.account.name)}*  \`${c.account.username}\`  (${c.level === 'pause' ? 'pause level' : 'warn level'})\n` +
    `• Bounces: *${percent(r.bounceRate)}* (${r.bounced} of ${r.delivered + r.bounced + r.failed}, later bounces included)\n` +
    `• Complaints: *${percent(r.complaintRate)}* (${r.complaints})`
  );
}

export function reputationAlertMessage(finding: Pick<ReputationFinding, 'workspace' | 'raised' | 'settings'>, opts: { paused: readonly string[]; command: string }): AlertMessage {
  const s = finding.settings;
  const shown = finding.raised.slice(0, MAX_ACCOUNTS);
  const paused = new Set(opts.paused);
  const names = finding.raised.map((c) => c.account.name);
  const blocks: Block[] = [
    header(`Delivery reputation in ${finding.workspace.name}`),
    section(
      `Over the last 30 days ${names.length === 1 ? 'an account' : `${names.length} accounts`} bounced or drew complaints past this workspace's levels ` +
        `(warn ${percent(s.warnBounceRate)} bounces / ${percent(s.warnComplaintRate)} complaints, pause ${percent(s.pauseBounceRate)} / ${percent(s.pauseComplaintRate)}). ` +
        `Mailbox providers throttle or block senders like this. *Pause now* disables the account; *Expected* keeps the guard from pausing it until its rates recover.`,
      JOB_ALERT_BLOCK.reputationIntro,
    ),
  ];
  for (const c of shown) {
    const value = encodeReputationButton({ workspaceId: c.account.workspaceId, accountId: c.account.id, name: c.account.name });
    blocks.push(section(accountText(c), `${JOB_ALERT_BLOCK.reputationAccountPrefix}${c.account.id}`));
    const actionsId = `${JOB_ALERT_BLOCK.reputationActionsPrefix}${c.account.id}`;
    if (paused.has(c.account.name)) {
      blocks.push({ ...contextLine(`:double_vertical_bar: Paused by the reputation guard. \`${opts.command} enable ${esc(c.account.name)}\` resumes it.`), block_id: actionsId });
    } else {
      blocks.push({
        type: 'actions',
        block_id: actionsId,
        elements: [button('Pause now', ACTION.reputationPause, value, 'danger'), button('Expected', ACTION.reputationExpected, value)],
      });
    }
  }
  if (finding.raised.length > shown.length) blocks.push(contextLine(`…and ${finding.raised.length - shown.length} more: \`smtpdesk jobs run reputation --dry-run\` lists them.`));
  const text = `Delivery reputation in ${finding.workspace.name}: ${names.join(', ')}${paused.size ? ` (paused: ${[...paused].join(', ')})` : ''}`;
  return { text, blocks };
}

/** The warning after a button did its work: that account's buttons become a line saying who did what. */
export function reputationAlertAfterAction(blocks: readonly Block[], accountId: string, outcome: string): Block[] {
  const id = `${JOB_ALERT_BLOCK.reputationActionsPrefix}${accountId}`;
  return blocks.map((b) => (b.block_id === id ? { ...contextLine(outcome), block_id: id } : b));
}
