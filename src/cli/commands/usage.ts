import { PLANS, listAudit, setWorkspacePlan, topQuotaConsumers, usageSummary } from '../../domain/index.ts';
import { formatCount, formatDateTime, formatShare, progressBar } from '../../shared/format.ts';
import { intOption, type CliCommand } from '../command.ts';
import { renderFields, renderTable } from '../table.ts';
import { ratesJson, readAccountRates } from './account-rates.ts';
import { percent } from '../../domain/index.ts';

const usage: CliCommand = {
  path: ['usage'],
  summary: 'Emails this month against the quota, and account slots against the plan',
  async run(cli) {
    const ws = await cli.workspace();
    const ctx = await cli.domain();
    const u = await usageSummary(ctx, cli.actor, ws.id);
    const top = await topQuotaConsumers(ctx, cli.actor, ws.id);
    const rates = await readAccountRates(
      cli,
      top.consumers.map((c) => c.accountId),
    );
    const consumers = top.consumers.map((c) => ({
      accountId: c.accountId,
      name: c.name ?? null,
      sent: c.sent,
      shareOfQuota: c.shareOfQuota,
      shareOfSent: c.shareOfSent,
      ...ratesJson(rates.get(c.accountId)!),
    }));
    if (cli.json) {
      return {
        workspace: u.workspaceName,
        month: u.month,
        plan: u.plan.id,
        emailsThisMonth: u.emailsThisMonth,
        monthlyQuota: u.plan.monthlyEmails,
        slotsUsed: u.slotsUsed,
        slots: u.plan.accountSlots,
        nextPlan: u.nextPlan?.id ?? null,
        topConsumers: consumers,
      };
    }
    cli.print(
      renderFields([
        ['Workspace', u.workspaceName],
        ['Plan', u.plan.id],
        [`Emails (${u.month})`, `${progressBar(u.emailsThisMonth, u.plan.monthlyEmails)}  ${formatCount(u.emailsThisMonth)} of ${formatCount(u.plan.monthlyEmails)}`],
        ['Account slots', `${progressBar(u.slotsUsed, u.plan.accountSlots)}  ${u.slotsUsed} of ${u.plan.accountSlots}`],
        ['Next plan up', u.nextPlan ? `${u.nextPlan.id}: ${formatCount(u.nextPlan.monthlyEmails)} emails/month, ${u.nextPlan.accountSlots} accounts` : 'none (largest plan)'],
      ]),
    );
    if (!top.consumers.length) return cli.print(`\nNo emails sent in ${u.month} yet.`);
    cli.print(`\nTop consumers of the ${u.month} quota:\n`);
    cli.print(
      renderTable(top.consumers, [
        { header: 'ACCOUNT', value: (c) => c.name ?? '(deleted account)' },
        { header: 'SENT', value: (c) => formatCount(c.sent), align: 'right' },
        { header: 'OF QUOTA', value: (c) => formatShare(c.shareOfQuota), align: 'right' },
        { header: 'OF SENT', value: (c) => formatShare(c.shareOfSent), align: 'right' },
        { header: 'BOUNCES 30D', value: (c) => percent(rates.get(c.accountId)?.bounceRate ?? null), align: 'right' },
        { header: 'COMPLAINTS 30D', value: (c) => percent(rates.get(c.accountId)?.complaintRate ?? null), align: 'right' },
      ]),
    );
  },
};

const plan: CliCommand = {
  path: ['plan'],
  summary: "Show the workspace's plan and the plans there are; `plan set PLAN` changes it",
  args: '[set PLAN]',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const ctx = await cli.domain();
    if (pos[0] === 'set') {
      const updated = await setWorkspacePlan(ctx, cli.actor, ws.id, pos[1] ?? '');
      if (cli.json) return { plan: updated.planId };
      return cli.print(`"${updated.name}" is on the ${updated.planId} plan.`);
    }
    const u = await usageSummary(ctx, cli.actor, ws.id);
    if (cli.json) return { plan: u.plan, nextPlan: u.nextPlan ?? null, plans: PLANS };
    cli.print(`"${u.workspaceName}" is on the ${u.plan.id} plan.\n`);
    cli.print(
      renderTable(PLANS, [
        { header: '', value: (p) => (p.id === u.plan.id ? '▶' : '') },
        { header: 'PLAN', value: (p) => p.id },
        { header: 'EMAILS/MONTH', value: (p) => formatCount(p.monthlyEmails), align: 'right' },
        { header: 'ACCOUNTS', value: (p) => String(p.accountSlots), align: 'right' },
      ]),
    );
  },
};

const audit: CliCommand = {
  path: ['audit'],
  summary: 'The audit log of the workspace, newest first (optionally of one account)',
  args: '[NAME]',
  options: { limit: { type: 'string' } },
  optionHelp: ['--limit N   how many entries (default 50)'],
  async run(cli, pos, opts) {
    const ws = await cli.workspace();
    const entries = await listAudit(await cli.domain(), cli.actor, ws.id, { accountName: pos[0], limit: intOption(opts, 'limit') });
    if (cli.json) return entries.map((e) => ({ ...e, at: e.at.toISOString() }));
    if (!entries.length) return cli.print('No audit entries.');
    cli.print(
      renderTable(entries, [
        { header: 'WHEN', value: (e) => formatDateTime(e.at) },
        { header: 'WHO', value: (e) => e.actor.name ?? e.actor.id },
        { header: 'FROM', value: (e) => e.actor.source },
        { header: 'ACTION', value: (e) => e.action },
        { header: 'ACCOUNT', value: (e) => e.accountName ?? '—' },
        {
          header: 'DETAILS',
          value: (e) =>
            e.details
              ? Object.entries(e.details)
                  .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
                  .join(' ')
              : '',
        },
      ]),
    );
  },
};

export const usageCommands: CliCommand[] = [usage, plan, audit];
