// App Home: the dashboard each viewer gets (counts, accounts, the buttons their role allows), refreshed after
// any change in the workspace; re-delivered events are ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  deleteAccount,
  disableAccount,
  readUsage,
  recordAcceptedMessage,
  recordDeliveryOutcome,
  reserveQuota,
  setWorkspacePlan,
  type Actor,
} from '../../src/domain/index.ts';
import { formatDate } from '../../src/shared/format.ts';
import { homeView } from '../../src/slack/blocks/home-blocks.ts';
import { ADMIN, MEMBER, RESPONDER, actionIdsOf, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;
const ops: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  const prod = await createAccount(h.rt.ctx, ops, ws, 'production-transactional');
  await reserveQuota(h.rt.ctx, ws, '10k', 2500);
  await recordAcceptedMessage(h.rt.ctx, prod.account, 2500);
  await recordDeliveryOutcome(h.rt.ctx, prod.account, { delivered: 2000 });
  await createAccount(h.rt.ctx, ops, ws, 'staging-checkout');
  await disableAccount(h.rt.ctx, ops, ws, 'staging-checkout', 'decommissioning');
});
afterAll(async () => {
  await h?.close();
});

/** Opens App Home as `user` and returns the view published for them. */
async function home(user: { id: string; name: string }): Promise<Record<string, unknown>> {
  const before = h.api.calls.length;
  const r = await h.openHome(user);
  expect(r.status).toBe(200);
  const call = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'views.publish' && c.args.user_id === user.id));
  return call.args.view as Record<string, unknown>;
}

describe('App Home dashboard', () => {
  it('shows slots of the plan and emails of the quota with progress bars, and every account', async () => {
    const view = await home(MEMBER);
    expect(view.type).toBe('home');
    const text = textOf(view);
    expect(text).toMatch(/\*Account slots\*\n`▓{8}░{12} 40%`  2 of 5 used/);
    expect(text).toMatch(/\*Emails this month \(\d{4}-\d{2}\)\*\n`▓{5}░{15} 25%`  2,500 of 10,000/);
    expect(text).toMatch(
      /production-transactional\*  `smtp-[a-z0-9]+`  Active\nTotal sent 2,500  ·  This month 2,500  ·  Delivery 100%  ·  Last used (just now|\d+ minutes? ago)  ·  Activity \*Active\*  ·  Created \d{4}-\d{2}-\d{2}\n30 days `▁{29}█`  ·  delivery 100%/,
    );
    expect(text).toMatch(
      /staging-checkout\*  `smtp-[a-z0-9]+`  Disabled\nTotal sent 0  ·  This month 0  ·  Delivery —  ·  Last used never  ·  Activity \*Never used\*  ·  Created \d{4}-\d{2}-\d{2}\n30 days `▁{30}`  ·  delivery —/,
    );
    expect(text).toContain(`Created ${formatDate(new Date())}`);
    expect(text).toContain('you are a member');
  });

  it('gives each role the buttons it may use', async () => {
    const member = actionIdsOf(await home(MEMBER));
    expect(member).toEqual(['smtpdesk_home_refresh', 'smtpdesk_home_list']);

    const responder = actionIdsOf(await home(RESPONDER));
    expect(responder.sort()).toEqual(['smtpdesk_account_disable', 'smtpdesk_home_list', 'smtpdesk_home_refresh']);

    const admin = await home(ADMIN);
    const ids = actionIdsOf(admin);
    expect(ids).toContain('smtpdesk_create');
    // Active account: rotate, disable, delete; disabled one: rotate, enable, delete.
    expect(ids.filter((i) => i === 'smtpdesk_account_rotate')).toHaveLength(2);
    expect(ids.filter((i) => i === 'smtpdesk_account_disable')).toHaveLength(1);
    expect(ids.filter((i) => i === 'smtpdesk_account_enable')).toHaveLength(1);
    expect(ids.filter((i) => i === 'smtpdesk_account_delete')).toHaveLength(2);
    expect(textOf(admin)).toContain('you are an admin');
  });

  it('is re-published for recent viewers after a change made anywhere (here: the domain, as the CLI would)', async () => {
    await home(ADMIN);
    await home(MEMBER);
    const before = h.api.calls.length;
    await disableAccount(h.rt.ctx, ops, ws, 'production-transactional', 'maintenance');
    const republished = await h.api.waitFor((calls) => {
      const pubs = calls.slice(before).filter((c) => c.method === 'views.publish');
      const users = new Set(pubs.map((c) => c.args.user_id));
      return users.has(ADMIN.id) && users.has(MEMBER.id) ? pubs : undefined;
    });
    for (const p of republished) expect(textOf(p.args)).toMatch(/production-transactional\*  `smtp-[a-z0-9]+`  Disabled/);
  });

  it('ignores re-delivered events (X-Slack-Retry-Num) and duplicates of one event id', async () => {
    const before = h.api.calls.length;
    const retry = await h.openHome(ADMIN, { eventId: 'EvRetry1', retryNum: 1 });
    expect(retry.status).toBe(200);
    const first = await h.openHome(MEMBER, { eventId: 'EvDup1' });
    const again = await h.openHome(MEMBER, { eventId: 'EvDup1' });
    expect([first.status, again.status]).toEqual([200, 200]);
    await h.api.waitFor((calls) => calls.slice(before).some((c) => c.method === 'views.publish' && c.args.user_id === MEMBER.id));
    await new Promise((r) => setTimeout(r, 300));
    const pubs = h.api.calls.slice(before).filter((c: RecordedCall) => c.method === 'views.publish');
    expect(pubs.map((c) => c.args.user_id)).toEqual([MEMBER.id]);
    expect(h.logs.some((l) => l.includes('"code":"SLACK_EVENT_RETRY_DROPPED"'))).toBe(true);
    expect(h.logs.some((l) => l.includes('"code":"SLACK_EVENT_DUPLICATE_DROPPED"'))).toBe(true);
  });

  it('the Refresh button re-publishes the dashboard', async () => {
    const before = h.api.calls.length;
    const r = await h.click('smtpdesk_home_refresh', 'refresh', MEMBER);
    expect(r.status).toBe(200);
    await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'views.publish' && c.args.user_id === MEMBER.id));
  });

  it('lists only idle accounts, longest idle first, when the viewer picks so; the pick survives refreshes', async () => {
    // staging-checkout was created 90 days ago and never used; production-transactional sent just now.
    await h.rt.db.models.accounts.updateOne({ workspaceId: ws, name: 'staging-checkout' }, { $set: { createdAt: new Date(Date.now() - 90 * 86_400_000) } });
    const published = async (action: () => Promise<unknown>) => {
      const before = h.api.calls.length;
      await action();
      return (await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'views.publish' && c.args.user_id === MEMBER.id))).args.view as Record<string, unknown>;
    };
    await home(MEMBER);
    const idle = await published(() => h.select('smtpdesk_home_list', 'idle', MEMBER));
    expect(textOf(idle)).toContain('1 idle account(s), longest idle first (no mail for 60 days or more; a never-used account counts from its creation).');
    expect(textOf(idle)).toContain('staging-checkout');
    expect(textOf(idle)).not.toContain('production-transactional');
    // The picker shows the current choice.
    const picker = JSON.stringify(idle.blocks).match(/"initial_option":\{[^}]*\},"value":"(\w[\w-]*)"/);
    expect(picker?.[1]).toBe('idle');

    // A change elsewhere re-publishes the dashboard with the same list.
    await h.running.deps.background.drain();
    const again = await published(() => createAccount(h.rt.ctx, ops, ws, 'fresh-one'));
    expect(textOf(again)).toContain('staging-checkout');
    expect(textOf(again)).not.toMatch(/production-transactional|fresh-one/);

    const all = await published(() => h.select('smtpdesk_home_list', 'name', MEMBER));
    expect(textOf(all)).toMatch(/fresh-one[^]*production-transactional[^]*staging-checkout/);
    // A value that is not a list is ignored.
    const before = h.api.calls.length;
    expect((await h.select('smtpdesk_home_list', 'everything', MEMBER)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.api.calls.slice(before).filter((c) => c.method === 'views.publish')).toEqual([]);
    await deleteAccount(h.rt.ctx, ops, ws, 'fresh-one', { confirmName: 'fresh-one' });
    await h.running.deps.background.drain();
  });

  it('says plainly when no account is idle', async () => {
    const usage = await readUsage(h.rt.ctx, ws);
    const view = homeView({ actor: { ...ops, source: 'slack' }, accounts: [], usage, command: '/smtp', now: new Date(), idleAfterDays: 45, list: 'idle' });
    expect(textOf(view)).toContain('No idle accounts (no mail for 45 days or more; a never-used account counts from its creation).');
    expect(textOf(view)).not.toContain('No SMTP accounts yet');
  });

  it("stays within Slack's 100 blocks with 50 accounts, using a menu per account", async () => {
    await setWorkspacePlan(h.rt.ctx, ops, ws, '100k');
    for (let i = 0; i < 48; i++) await createAccount(h.rt.ctx, ops, ws, `bulk-${String(i).padStart(2, '0')}`);
    await h.running.deps.background.drain(); // the refreshes those changes set off
    const view = await home(ADMIN);
    const blocks = view.blocks as { type: string; accessory?: { type: string } }[];
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(blocks.filter((b) => b.accessory?.type === 'overflow')).toHaveLength(50);
    expect(textOf(view)).toContain('bulk-47');
    expect(textOf(view)).toMatch(/50 of 50 used/);

    // Choosing "Delete" in an account's menu opens the delete confirmation.
    const r = await h.send.interaction({
      type: 'block_actions',
      team: { id: 'T1', domain: 'acme' },
      user: { id: ADMIN.id, username: ADMIN.name, name: ADMIN.name, team_id: 'T1' },
      api_app_id: 'A1',
      token: 'unused',
      trigger_id: 'trigger-overflow',
      container: { type: 'view', view_id: 'VHOME' },
      view: { id: 'VHOME', type: 'home', team_id: 'T1', callback_id: '', private_metadata: '', blocks: [], state: { values: {} }, hash: 'h' },
      actions: [
        {
          type: 'overflow',
          action_id: 'smtpdesk_account_menu',
          block_id: 'b',
          selected_option: { text: { type: 'plain_text', text: 'Delete' }, value: 'smtpdesk_account_delete|bulk-07' },
          action_ts: '1.1',
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(textOf(await h.api.modal('trigger-overflow'))).toContain('Type "bulk-07" to confirm');
  }, 60_000);

  it('tells the viewer on the tab when the dashboard cannot be built', async () => {
    const before = h.api.calls.length;
    await h.rt.ctx.workspaces.update(ws, { planId: 'no-such-plan' });
    try {
      await h.openHome({ id: 'UNEWCOMER', name: 'neo' });
      const call = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'views.publish' && c.args.user_id === 'UNEWCOMER'));
      expect(textOf(call.args)).toContain('The dashboard could not be loaded just now (code SLACK_HOME_PUBLISH_FAILED)');
      expect(h.logs.some((l) => l.includes('"code":"SLACK_HOME_PUBLISH_FAILED"'))).toBe(true);
    } finally {
      await h.rt.ctx.workspaces.update(ws, { planId: '100k' });
    }
  });
});
