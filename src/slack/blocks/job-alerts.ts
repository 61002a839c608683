// Block Kit of the scheduled jobs' alerts: idle accounts (with Disable / Delete / Keep buttons on each) and
// a workspace near its plan's limits (with the remedies, named with data).
import type { IdleAccount, IdleFinding, PlanLimitFinding } from '../../domain/index.ts';
import { formatAgo, formatCount, formatDate, formatStatus, progressBar } from '../../shared/format.ts';
import { ACTION, JOB_ALERT_BLOCK } from '../ids.ts';
import { button, contextLine, esc, header, section, type Block } from './common.ts';

export interface AlertMessage {
  /** Notification and fallback text. */
  text: string;
  blocks: Block[];
}

/** Accounts shown with their own buttons; Slack allows 50 blocks per message and each account takes two. */
export const IDLE_ALERT_MAX_ACCOUNTS = 20;

/** What an idle alert button carries: enough to find the account again, checked against the clicker's team. */
export interface IdleButtonValue {
  workspaceId: string;
  accountId: string;
  name: string;
}

export function encodeIdleButton(v: IdleButtonValue): string {
  return JSON.stringify({ w: v.workspaceId, a: v.accountId, n: v.name });
}

export function decodeIdleButton(value: string | undefined): IdleButtonValue | null {
  if (!value) return null;
  try {
    const v = JSON.parse(value) as { w?: unknown; a?: unknown; n?: unknown };
    if (typeof v.w !== 'string' || typeof v.a !== 'string' || typeof v.n !== 'string') return null;
    return { workspaceId: v.w, accountId: v.a, name: v.n };
  } catch {
    return null;
  }
}

function lastUsedText(a: IdleAccount, now: Date): string {
  return a.lastUsedAt
    ? `Last used ${formatDate(a.lastUsedAt)} (${formatAgo(a.lastUsedAt, now)})`
    : `Never used (created ${formatDate(a.createdAt)}, ${formatAgo(a.createdAt, now)})`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export function idleAccountLine(a: IdleAccount, now: Date, isNew: boolean): string {
  return `*${esc(a.name)}*${isNew ? '  :new:' : ''}  \`${a.username}\` · ${formatStatus(a.status)}\n` + `${lastUsedText(a, now)} · Total sent: ${formatCount(a.counters.sent)}`;
}

export function idleAccountButtons(a: Pick<IdleAccount, 'id' | 'name' | 'status' | 'workspaceId'>, snoozeDays: number): Block {
  const value = encodeIdleButton({ workspaceId: a.workspaceId, accountId: a.id, name: a.name });
  const elements = [];
  if (a.status === 'active') elements.push(button('Disable', ACTION.idleDisable, value));
  elements.push(button('Delete', ACTION.idleDelete, value, 'danger'));
  elements.push(button(`Keep (${snoozeDays} days)`, ACTION.idleKeep, value));
  return { type: 'actions', block_id: `${JOB_ALERT_BLOCK.idleActionsPrefix}${a.id}`, elements };
}

export function idleAlertMessage(
  finding: Pick<IdleFinding, 'workspace' | 'accounts' | 'raised'>,
  opts: { now: Date; idleAfterDays: number; snoozeDays: number; command: string },
): AlertMessage {
  const { workspace, accounts } = finding;
  const raised = new Set(finding.raised.map((a) => a.id));
  const shown = accounts.slice(0, IDLE_ALERT_MAX_ACCOUNTS);
  const rest = accounts.slice(IDLE_ALERT_MAX_ACCOUNTS);
  const blocks: Block[] = [
    header(`Idle SMTP accounts in ${workspace.name}`),
    section(
      `*${plural(accounts.length, 'account')}* sent nothing for ${opts.idleAfterDays} days or more ` +
        `(never-used accounts count from their creation)${raised.size ? `, ${formatCount(raised.size)} of them new since the last alert` : ''}. ` +
        `Disable or delete what nobody needs; *Keep* leaves an account out of this alert for ${opts.snoozeDays} days.`,
      JOB_ALERT_BLOCK.idleIntro,
    ),
  ];
  for (const a of shown) {
    blocks.push(section(idleAccountLine(a, opts.now, raised.has(a.id)), `${JOB_ALERT_BLOCK.idleAccountPrefix}${a.id}`));
    blocks.push(idleAccountButtons(a, opts.snoozeDays));
  }
  if (rest.length) {
    blocks.push(section(`…and ${plural(rest.length, 'more idle account')}: ${rest.map((a) => `*${esc(a.name)}*`).join(', ')}`.slice(0, 2900)));
  }
  blocks.push(contextLine(`The full list: \`${opts.command} list --idle ${opts.idleAfterDays}\` here, or \`smtpdesk accounts list --idle ${opts.idleAfterDays}\`.`));
  const names = accounts
    .slice(0, 5)
    .map((a) => a.name)
    .join(', ');
  return {
    text: `${plural(accounts.length, 'idle SMTP account')} in ${workspace.name}: ${names}${accounts.length > 5 ? ', …' : ''}`,
    blocks,
  };
}

/** The idle alert after a button did its work: that account's buttons become a line saying who did what. */
export function idleAlertAfterAction(blocks: readonly Block[], accountId: string, outcome: string): Block[] {
  const actionsId = `${JOB_ALERT_BLOCK.idleActionsPrefix}${accountId}`;
  return blocks.map((b) => (b.block_id === actionsId ? { ...contextLine(outcome), block_id: actionsId } : b));
}

export function planLimitAlertMessage(
  finding: Pick<PlanLimitFinding, 'workspace' | 'usage' | 'status' | 'remedies'>,
  opts: { idleAfterDays: number; command: string },
): AlertMessage {
  const { workspace, usage, status, remedies } = finding;
  const { slots, quota } = status;
  const problems: string[] = [];
  if (slots.level === 'full') problems.push(`all ${slots.limit} account slots are used`);
  else if (slots.level === 'near') problems.push(`${slots.used} of ${slots.limit} account slots are used (${plural(slots.free, 'slot')} left)`);
  if (quota.threshold !== null) problems.push(`${formatCount(quota.used)} of ${formatCount(quota.limit)} emails this month are sent (${quota.percent}%)`);

  const blocks: Block[] = [
    header(`${workspace.name} is near its plan's limits`),
    section(`On the *${usage.plan.id}* plan, ${problems.join(' and ')}.`, JOB_ALERT_BLOCK.planSummary),
    {
      type: 'section',
      block_id: JOB_ALERT_BLOCK.planUsage,
      fields: [
        { type: 'mrkdwn', text: `*Account slots*\n\`${progressBar(slots.used, slots.limit, 10)}\`  ${slots.used} of ${slots.limit}` },
        { type: 'mrkdwn', text: `*Emails in ${status.month}*\n\`${progressBar(quota.used, quota.limit, 10)}\`  ${formatCount(quota.used)} of ${formatCount(quota.limit)}` },
      ],
    },
    section('*What you can do*'),
  ];

  const dormant = remedies.dormant;
  blocks.push(
    section(
      dormant.length
        ? `:wastebasket: *Delete dormant accounts*: ${plural(dormant.length, 'account')} sent nothing for ${opts.idleAfterDays} days or more; ` +
            `deleting frees ${plural(dormant.length, 'slot')} (emails already sent this month still count).\n` +
            dormant
              .slice(0, 10)
              .map(
                (a) =>
                  `• *${esc(a.name)}*: ${a.lastUsedAt ? `last used ${formatDate(a.lastUsedAt)}` : `never used, created ${formatDate(a.createdAt)}`}, ${formatCount(a.counters.sent)} sent`,
              )
              .join('\n') +
            (dormant.length > 10 ? `\n• …and ${dormant.length - 10} more` : '')
        : `:wastebasket: *Delete dormant accounts*: none has been idle for ${opts.idleAfterDays} days.`,
      JOB_ALERT_BLOCK.planDormant,
    ),
  );

  const groups = remedies.consolidation;
  blocks.push(
    section(
      groups.length
        ? `:link: *Consolidate accounts of the same purpose*: one account can serve several apps of one purpose.\n` +
            groups
              .slice(0, 8)
              .map(
                (g) =>
                  `• ${g.basis === 'environment' ? `${esc(g.key)} accounts` : `accounts named *${esc(g.key)}-…*`}: ${g.accounts.map((n) => `*${esc(n)}*`).join(', ')} ` +
                  `(merging them frees ${plural(g.slotsFreed, 'slot')})`,
              )
              .join('\n')
        : ':link: *Consolidate accounts of the same purpose*: no accounts look like the same purpose.',
      JOB_ALERT_BLOCK.planConsolidate,
    ),
  );

  const next = remedies.nextPlan;
  blocks.push(
    section(
      next
        ? `:arrow_up: *Upgrade to the ${next.id} plan*: ${formatCount(next.monthlyEmails)} emails/month and ${next.accountSlots} accounts ` +
            `(now ${formatCount(usage.plan.monthlyEmails)} and ${usage.plan.accountSlots}). Admins: \`${opts.command} plan set ${next.id}\`.`
        : `:arrow_up: *Upgrade*: ${usage.plan.id} is the largest plan.`,
      JOB_ALERT_BLOCK.planUpgrade,
    ),
  );

  return { text: `${workspace.name} is near its plan's limits: ${problems.join('; ')}`, blocks };
}
