// The App Home dashboard: usage against the plan, every account, and the buttons the viewer may use.
import type { types } from '@slack/bolt';
import { can, type AccountView, type Actor, type UsageSummary } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { ACTION, HOME_BLOCK } from '../ids.ts';
import { accountStats, accountTitle } from './accounts.ts';
import { button, contextLine, divider, header, plain, section, type Block, type HomeView } from './common.ts';
import { usageLines } from './workspace.ts';

const MAX_BLOCKS = 100;

/** The account actions the viewer may take on `a`, as [label, action id, style]. Rules come from the domain. */
export function accountActionsFor(actor: Actor, a: Pick<AccountView, 'status'>): [string, string, ('primary' | 'danger')?][] {
  const out: [string, string, ('primary' | 'danger')?][] = [];
  if (can(actor, 'account.rotate')) out.push(['Rotate password', ACTION.rotate]);
  if (a.status === 'active' && can(actor, 'account.disable')) out.push(['Disable', ACTION.disable, 'danger']);
  if (a.status === 'disabled' && can(actor, 'account.enable')) out.push(['Enable', ACTION.enable, 'primary']);
  if (can(actor, 'account.delete')) out.push(['Delete', ACTION.delete, 'danger']);
  return out;
}

export function homeView(opts: {
  actor: Actor;
  accounts: AccountView[];
  usage: UsageSummary;
  command: string;
  now: Date;
  idleAfterDays: number;
}): HomeView {
  const { actor, accounts, usage, now } = opts;
  const l = usageLines(usage);
  const roleText = actor.roles.includes('admin') ? 'an admin' : actor.roles.includes('responder') ? 'a security responder' : 'a member';
  const blocks: Block[] = [
    header(`SMTP accounts · ${usage.workspaceName}`),
    { type: 'section', block_id: HOME_BLOCK.usage, fields: [{ type: 'mrkdwn', text: l.slots }, { type: 'mrkdwn', text: l.emails }] },
    contextLine(
      `Plan *${usage.plan.id}*${usage.nextPlan ? ` (next up: ${usage.nextPlan.id}, ${usage.nextPlan.accountSlots} accounts)` : ''} · you are ${roleText} · updated ${formatDateTime(now)}`,
    ),
  ];
  const toolbar: types.Button[] = [];
  if (can(actor, 'account.create')) toolbar.push(button('Create account', ACTION.create, 'create', 'primary'));
  toolbar.push(button('Refresh', ACTION.refreshHome, 'refresh'));
  blocks.push({ type: 'actions', block_id: HOME_BLOCK.toolbar, elements: toolbar }, divider());

  if (accounts.length === 0) {
    blocks.push(section(`No SMTP accounts yet.${can(actor, 'account.create') ? ' Create one with the button above.' : ''}`));
    return { type: 'home', blocks };
  }

  // A row of buttons under each account when it fits in Slack's 100 blocks; otherwise an overflow menu.
  const withActions = accounts.filter((a) => accountActionsFor(actor, a).length > 0).length;
  const compact = blocks.length + accounts.length + withActions + 1 > MAX_BLOCKS;
  for (const a of accounts) {
    if (blocks.length >= MAX_BLOCKS - 2) break;
    const actions = accountActionsFor(actor, a);
    const text = `${accountTitle(a)}\n${accountStats(a, now)}`;
    const row: types.SectionBlock = { type: 'section', block_id: `${HOME_BLOCK.accountPrefix}${a.id}`, text: { type: 'mrkdwn', text } };
    if (compact && actions.length) {
      row.accessory = {
        type: 'overflow',
        action_id: ACTION.accountMenu,
        options: actions.map(([label, id]) => ({ text: plain(label, 75), value: `${id}|${a.name}`.slice(0, 150) })),
      };
    }
    blocks.push(row);
    if (!compact && actions.length) {
      blocks.push({
        type: 'actions',
        block_id: `${HOME_BLOCK.actionsPrefix}${a.id}`,
        elements: actions.map(([label, id, style]) => button(label, id, a.name, style)),
      });
    }
  }
  if (blocks.length < MAX_BLOCKS) {
    blocks.push(contextLine(`\`${opts.command} list --idle ${opts.idleAfterDays}\` lists dormant accounts · \`${opts.command} help\` for everything else`));
  }
  return { type: 'home', blocks };
}

/** Shown on the tab when the dashboard could not be built; Refresh tries again. */
export function homeErrorView(): HomeView {
  return {
    type: 'home',
    blocks: [
      header('SMTP accounts'),
      section(':warning: The dashboard could not be loaded just now (code SLACK_HOME_PUBLISH_FAILED). Try again in a minute.'),
      { type: 'actions', block_id: HOME_BLOCK.toolbar, elements: [button('Refresh', ACTION.refreshHome, 'refresh')] },
    ],
  };
}
