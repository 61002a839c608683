// Usage, plan and audit messages, and the help text.
import { PLANS, type AuditEntry, type QuotaConsumer, type UsageSummary } from '../../domain/index.ts';
import { formatCount, formatDateTime, formatShare, humanReason, progressBar } from '../../shared/format.ts';
import { actorText, contextLine, esc, header, linesToSections, section, type Block } from './common.ts';

export function usageLines(u: UsageSummary): { emails: string; slots: string } {
  return {
    emails: `*Emails this month (${u.month})*\n\`${progressBar(u.emailsThisMonth, u.plan.monthlyEmails)}\`  ${formatCount(u.emailsThisMonth)} of ${formatCount(u.plan.monthlyEmails)}`,
    slots: `*Account slots*\n\`${progressBar(u.slotsUsed, u.plan.accountSlots)}\`  ${u.slotsUsed} of ${u.plan.accountSlots} used`,
  };
}

function nextPlanText(u: UsageSummary): string {
  return u.nextPlan
    ? `Next plan up: *${u.nextPlan.id}*, ${formatCount(u.nextPlan.monthlyEmails)} emails/month and ${u.nextPlan.accountSlots} accounts.`
    : 'This is the largest plan.';
}

export function usageBlocks(u: UsageSummary, consumers: readonly QuotaConsumer[] = []): Block[] {
  const l = usageLines(u);
  const blocks: Block[] = [header(`Usage of ${u.workspaceName}`), section(`Plan *${u.plan.id}*`), section(l.emails), section(l.slots)];
  if (consumers.length) {
    const rows = consumers.map(
      (c, i) =>
        `${i + 1}. *${esc(c.name ?? '(deleted account)')}* — ${formatCount(c.sent)} emails, ${formatShare(c.shareOfQuota)} of the quota (${formatShare(c.shareOfSent)} of this month's mail)`,
    );
    blocks.push(section(`*Top consumers of the ${u.month} quota*\n${rows.join('\n')}`));
  }
  blocks.push(contextLine(nextPlanText(u)));
  return blocks;
}

export function planBlocks(u: UsageSummary, opts: { command: string; canChange: boolean }): Block[] {
  const rows = PLANS.map(
    (p) => `${p.id === u.plan.id ? ':arrow_forward:' : ':white_small_square:'} *${p.id}*: ${formatCount(p.monthlyEmails)} emails/month, ${p.accountSlots} accounts`,
  );
  const l = usageLines(u);
  return [
    header(`Plan of ${u.workspaceName}: ${u.plan.id}`),
    section(`${l.emails}\n${l.slots}`),
    section(rows.join('\n')),
    contextLine(`${nextPlanText(u)}${opts.canChange ? ` Change it with \`${opts.command} plan set PLAN\`.` : ' Admins can change it.'}`),
  ];
}

export function auditBlocks(entries: AuditEntry[], opts: { accountName?: string }): Block[] {
  const title = opts.accountName ? `Audit log of ${opts.accountName}` : 'Audit log';
  if (!entries.length) return [section(`${title}: no entries.`)];
  const lines = entries.map((e) => {
    const who = actorText(e.actor);
    const account = e.accountName ? ` *${esc(e.accountName)}*` : '';
    return `\`${formatDateTime(e.at)}\` ${who} ${e.action}${account}${detailsText(e.details)}`;
  });
  return [header(`${title} (newest first)`), ...linesToSections(lines).slice(0, 45)];
}

function detailsText(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  const parts = Object.entries(details).map(([k, v]) => {
    const value = typeof v === 'string' ? (k === 'reason' ? humanReason(v) : v) : JSON.stringify(v);
    return `${k}: ${esc(value)}`;
  });
  return parts.length ? ` — ${parts.join(', ')}` : '';
}

export const SUBCOMMAND_HELP: readonly [string, string][] = [
  ['list [--idle DAYS] [--sort name|created|last-used]', 'the accounts: status, total sent, this month, delivery rate, last used, created'],
  ['show NAME', 'one account with every counter and the messages still queued'],
  ['create [NAME]', 'a new account (admins); the password is shown once, only to you'],
  ['rotate NAME', 'a new password (admins); the old one stops working at once'],
  ['disable NAME [reason]', 'stop an account sending (admins, security responders); reasons: maintenance, compromise, decommissioning, other'],
  ['enable NAME', 'let a disabled account send again with the same credentials (admins)'],
  ['delete NAME', 'delete an account after typing its name (admins)'],
  ['usage', 'emails this month of the quota, account slots of the plan'],
  ['plan [set PLAN]', 'the plan, its quota and slots, the next plan up; admins can change it'],
  ['audit [NAME]', 'who changed what and when (admins, security responders)'],
  ['domains [add DOMAIN]', 'sending domains and their DKIM state; admins add one and get the DNS record to publish'],
  ['suppressions [add|remove ADDRESS]', 'addresses refused because they hard-bounced (admins, security responders); admins change the list'],
  ['request NAME [what it is for]', 'ask for a new account; an admin other than you approves it in the approvals channel'],
  ['trace ADDRESS|MESSAGE-ID|QUEUE-ID [--since 7d]', 'did my email go out? each recipient: status, attempts, the next hop’s last answer'],
  ['help', 'this help'],
];

export function helpBlocks(command: string, problem?: string): { text: string; blocks: Block[] } {
  const lines = SUBCOMMAND_HELP.map(([usage, what]) => `\`${command} ${usage}\`\n      ${what}`);
  const blocks: Block[] = [];
  if (problem) blocks.push(section(`:warning: ${esc(problem)}`));
  blocks.push(section(`*${command}* manages the team's SMTP accounts:`), ...linesToSections(lines));
  blocks.push(contextLine('Names are matched ignoring case; quote a name with spaces, e.g. `disable "staging checkout" maintenance`. The App Home tab is a dashboard of it all.'));
  return { text: problem ? `${problem} — ${command} help` : `${command} help`, blocks };
}
