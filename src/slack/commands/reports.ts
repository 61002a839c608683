// Subcommands answered with a message only the requester sees: list, show, usage, plan, audit, help.
import {
  addSuppression,
  can,
  dailyStatsOf,
  accountRates,
  listAccounts,
  listAudit,
  listSendingDomains,
  listSuppressions,
  removeSuppression,
  setWorkspacePlan,
  showAccount,
  topQuotaConsumers,
  traceMail,
  usageSummary,
} from '../../domain/index.ts';
import { domainListBlocks, suppressionListBlocks } from '../blocks/domains.ts';
import { traceBlocks } from '../blocks/trace.ts';
import { accountDetailBlocks, accountListBlocks } from '../blocks/accounts.ts';
import { esc } from '../blocks/common.ts';
import { formatCount } from '../../shared/format.ts';
import { auditBlocks, helpBlocks, planBlocks, usageBlocks } from '../blocks/workspace.ts';
import type { ResolvedActor } from '../actor.ts';
import type { SlackDeps } from '../deps.ts';
import type { Message } from '../replies.ts';
import type { Subcommand } from './parse.ts';

export type ReportSubcommand = Extract<Subcommand, { kind: 'list' | 'show' | 'usage' | 'plan' | 'audit' | 'domains' | 'suppressions' | 'trace' }>;

export async function report(deps: SlackDeps, sub: ReportSubcommand, r: ResolvedActor): Promise<Message> {
  const { ctx } = deps;
  const { actor, workspace } = r;
  const command = deps.config.slack.command;
  const now = ctx.clock();
  switch (sub.kind) {
    case 'list': {
      const accounts = await listAccounts(ctx, actor, workspace.id, { idleDays: sub.idleDays, sort: sub.sort });
      return { text: `${accounts.length} SMTP account(s)`, blocks: accountListBlocks(accounts, { now, idleDays: sub.idleDays, command }) };
    }
    case 'show': {
      const account = await showAccount(ctx, actor, workspace.id, sub.name);
      const daily = (await dailyStatsOf(ctx, [account.id], 30)).get(account.id);
      const rates = (await accountRates(deps.reputation.later, [account.id], now)).get(account.id);
      return {
        text: `SMTP account ${account.name}`,
        blocks: accountDetailBlocks(account, now, daily, { canEditLimits: can(actor, 'account.limits'), ...(rates ? { rates } : {}) }),
      };
    }
    case 'usage': {
      const [u, top] = await Promise.all([usageSummary(ctx, actor, workspace.id), topQuotaConsumers(ctx, actor, workspace.id)]);
      return {
        text: `Usage: ${formatCount(u.emailsThisMonth)} of ${formatCount(u.plan.monthlyEmails)} emails, ${u.slotsUsed} of ${u.plan.accountSlots} accounts`,
        blocks: usageBlocks(u, top.consumers),
      };
    }
    case 'plan': {
      if (sub.set) {
        const updated = await setWorkspacePlan(ctx, actor, workspace.id, sub.set);
        return { text: `:white_check_mark: *${esc(updated.name)}* is on the *${updated.planId}* plan.` };
      }
      const u = await usageSummary(ctx, actor, workspace.id);
      return { text: `Plan ${u.plan.id}`, blocks: planBlocks(u, { command, canChange: can(actor, 'plan.change') }) };
    }
    case 'audit': {
      const entries = await listAudit(ctx, actor, workspace.id, { accountName: sub.name, limit: 30 });
      return { text: `${entries.length} audit entries`, blocks: auditBlocks(entries, { accountName: sub.name }) };
    }
    case 'domains': {
      const domains = await listSendingDomains(ctx, actor, workspace.id);
      return { text: `${domains.length} sending domain(s)`, blocks: domainListBlocks(domains, { command, canAdd: can(actor, 'domain.manage') }) };
    }
    case 'suppressions': {
      if (sub.change?.op === 'add') {
        const s = await addSuppression(ctx, actor, workspace.id, sub.change.address);
        return { text: `:white_check_mark: \`${esc(s.address)}\` is on the suppression list: relays refuse it within a few seconds.` };
      }
      if (sub.change?.op === 'remove') {
        const s = await removeSuppression(ctx, actor, workspace.id, sub.change.address);
        return { text: `:white_check_mark: \`${esc(s.address)}\` is off the suppression list: relays accept it again within a few seconds.` };
      }
      const entries = await listSuppressions(ctx, actor, workspace.id, { limit: 100 });
      return { text: `${entries.length} suppressed address(es)`, blocks: suppressionListBlocks(entries, { command }) };
    }
    case 'trace':
      return traceBlocks(await traceMail(ctx, actor, workspace.id, sub.query, { sinceMs: sub.sinceMs }), { command });
  }
}

export function helpMessage(deps: SlackDeps, problem?: string): Message {
  return helpBlocks(deps.config.slack.command, problem);
}
