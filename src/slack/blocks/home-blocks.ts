// The App Home dashboard: usage against the plan, every account, and the buttons the viewer may use.
import type { types } from '@slack/bolt';
import { can, type AccountDailyStats, type AccountRates, type AccountView, type Actor, type ListOptions, type UsageSummary } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { ACTION, HOME_BLOCK } from '../ids.ts';
import { accountRatesLine, accountStats, accountTitle, accountTrendLine } from './accounts.ts';
import { button, contextLine, divider, header, plain, section, type Block, type HomeView } from './common.ts';
import { usageLines } from './workspace.ts';

const MAX_BLOCKS = 100;

/** The account lists a viewer can pick on the dashboard: the dormant-account audit without typing a command. */
export const HOME_LISTS = ['name', 'last-used', 'created', 'idle'] as const;
export type HomeList = (typeof HOME_LISTS)[number];

export function isHomeList(value: unknown): value is HomeList {
  return typeof value === 'string' && (HOME_LISTS as readonly string[]).includes(value);
}

function homeListLabel(list: HomeList, idleAfterDays: number): string {
  switch (list) {
    case 'name':
      return 'All accounts, by name';
    case 'last-used':
      return 'All accounts, least recently used first';
    case 'created':
      return 'All accounts, oldest first';
    case 'idle':
      return `Idle for ${idleAfterDays}+ days only`;
  }
}

/** What `list` asks of the domain's account list. */
export function homeListOptions(list: HomeList, idleAfterDays: number): ListOptions {
  return list === 'idle' ? { idleDays: idleAfterDays, sort: 'last-used' } : { sort: list };
}

function listPicker(list: HomeList, idleAfterDays: number): types.StaticSelect {
  const option = (l: HomeList) => ({ text: plain(homeListLabel(l, idleAfterDays), 75), value: l });
  return { type: 'static_select', action_id: ACTION.homeList, options: HOME_LISTS.map(option), initial_option: option(list) };
}

/** The account actions the viewer may take on `a`, as [label, action id, style]. Rules come from the domain. */
export function accountActionsFor(actor: Actor, a: Pick<AccountView, 'status'>): [string, string, ('primary' | 'danger')?][] {
  const out: [string, string, ('primary' | 'danger')?][] = [];
  if (can(actor, 'account.rotate')) out.push(['Rotate password', ACTION.rotate]);
  if (can(actor, 'account.limits')) out.push(['Sending limits', ACTION.limits]);
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
  /** Which accounts are listed, in what order (default: all, by name). */
  list?: HomeList;
  /** Daily statistics per account id (the 30-day sparkline and delivery trend on each row). */
  daily?: ReadonlyMap<string, AccountDailyStats>;
  /** 30-day bounce and complaint rates per account id (later bounces and complaints included). */
  rates?: ReadonlyMap<string, AccountRates>;
}): HomeView {
  const list = opts.list ?? 'name';
  const { actor, accounts, usage, now } = opts;
  const l = usageLines(usage);
  const roleText = actor.roles.includes('admin') ? 'an admin' : actor.roles.includes('responder') ? 'a security responder' : 'a member';
  const blocks: Block[] = [
    header(`SMTP accounts · ${usage.workspaceName}`),
    {
      type: 'section',
      block_id: HOME_BLOCK.usage,
      fields: [
        { type: 'mrkdwn', text: l.slots },
        { type: 'mrkdwn', text: l.emails },
      ],
    },
    contextLine(
      `Plan *${usage.plan.id}*${usage.nextPlan ? ` (next up: ${usage.nextPlan.id}, ${usage.nextPlan.accountSlots} accounts)` : ''} · you are ${roleText} · updated ${formatDateTime(now)}`,
    ),
  ];
  const toolbar: (types.Button | types.StaticSelect)[] = [];
  if (can(actor, 'account.create')) toolbar.push(button('Create account', ACTION.create, 'create', 'primary'));
  toolbar.push(button('Refresh', ACTION.refreshHome, 'refresh'), listPicker(list, opts.idleAfterDays));
  blocks.push({ type: 'actions', block_id: HOME_BLOCK.toolbar, elements: toolbar }, divider());

  if (list === 'idle') {
    const rule = `no mail for ${opts.idleAfterDays} days or more; a never-used account counts from its creation`;
    if (accounts.length === 0) {
      blocks.push(section(`No idle accounts (${rule}).`));
      return { type: 'home', blocks };
    }
    blocks.push(contextLine(`${accounts.length} idle account(s), longest idle first (${rule}).`));
  } else if (accounts.length === 0) {
    blocks.push(section(`No SMTP accounts yet.${can(actor, 'account.create') ? ' Create one with the button above.' : ''}`));
    return { type: 'home', blocks };
  }

  // A row of buttons under each account when it fits in Slack's 100 blocks; otherwise an overflow menu.
  const withActions = accounts.filter((a) => accountActionsFor(actor, a).length > 0).length;
  const compact = blocks.length + accounts.length + withActions + 1 > MAX_BLOCKS;
  for (const a of accounts) {
    if (blocks.length >= MAX_BLOCKS - 2) break;
    const actions = accountActionsFor(actor, a);
    const daily = opts.daily?.get(a.id);
    const rates = opts.rates?.get(a.id);
    const text = `${accountTitle(a)}\n${accountStats(a, now)}${daily ? `\n${accountTrendLine(daily)}` : ''}${rates && rates.delivered + rates.bounced + rates.failed > 0 ? `\n${accountRatesLine(rates)}` : ''}`;
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
