// The idle-accounts job end to end: a real Runtime and database, the real Bolt receiver for the buttons, and
// the fake Slack Web API recording what users would see in the alert channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, DAY_MS, recordAcceptedMessage, setWorkspacePlan, updateWorkspaceSettings, type Account, type Actor, type DomainEvent } from '../../src/domain/index.ts';
import { idleAccountsJob } from '../../src/jobs/idle-accounts.ts';
import { ACTION, JOB_ALERT_BLOCK } from '../../src/slack/ids.ts';
import { alertPosts, jobClock, jobsOn, type JobClock, type JobsUnderTest } from '../helpers/jobs.ts';
import { ADMIN, ALERT_CHANNEL, MEMBER, RESPONDER, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

type AnyBlock = { type: string; block_id?: string; elements?: { type: string; action_id?: string; value?: string; text?: { text: string } }[] };

const operator: Actor = { source: 'cli', id: 'op', name: 'op (cli)', roles: ['admin'] };
// Anchored to real time: the Keep button snoozes from the Slack role's own (system) clock.
const realNow = new Date();
const daysFromNow = (d: number) => new Date(realNow.getTime() + d * DAY_MS);

let h: SlackHarness;
let clock: JobClock;
let jobs: JobsUnderTest;
let workspaceId: string;
const events: DomainEvent[] = [];

beforeAll(async () => {
  h = await startSlackHarness({ env: { LOG_LEVEL: 'silent' } });
  clock = jobClock(daysFromNow(-200));
  jobs = jobsOn(h.rt, clock);
  h.rt.events.subscribe({ publish: (e) => void events.push(e) });
  workspaceId = await h.workspaceId();
  await updateWorkspaceSettings(jobs.deps.ctx, operator, workspaceId, { alertChannel: ALERT_CHANNEL });
  await setWorkspacePlan(jobs.deps.ctx, operator, workspaceId, '20k');
});
afterAll(async () => {
  await h?.close();
});

async function accountAt(name: string, createdDay: number, lastSendDay?: number, recipients = 1): Promise<Account> {
  clock.set(daysFromNow(createdDay));
  const { account } = await createAccount(jobs.deps.ctx, operator, workspaceId, name);
  if (lastSendDay !== undefined) await recordAcceptedMessage(jobs.deps.ctx, account, recipients, daysFromNow(lastSendDay));
  return account;
}

function idleAlerts(): RecordedCall[] {
  return alertPosts(h.api, 'Idle SMTP accounts');
}

function blocksOf(post: RecordedCall): AnyBlock[] {
  return post.args.blocks as AnyBlock[];
}

function buttonsFor(post: RecordedCall, account: Account) {
  const actions = blocksOf(post).find((b) => b.block_id === `${JOB_ALERT_BLOCK.idleActionsPrefix}${account.id}`);
  return actions?.elements ?? [];
}

/** A click on one of the alert's buttons, as Slack sends it: signed block_actions with the message in it. */
async function click(post: RecordedCall, account: Account, actionId: string, user: { id: string; name: string }) {
  const button = buttonsFor(post, account).find((b) => b.action_id === actionId);
  expect(button, `${actionId} button of ${account.name}`).toBeDefined();
  const message = { ts: String(post.response.ts), text: post.args.text, blocks: post.args.blocks, blockId: `${JOB_ALERT_BLOCK.idleActionsPrefix}${account.id}` };
  const r = await h.click(actionId, String(button!.value), user, message);
  expect(r.status).toBe(200);
  return { triggerId: r.triggerId };
}

describe('idle-accounts job', () => {
  let old: Account;
  let never: Account;
  let sixty: Account;
  let firstAlert: RecordedCall;

  it('posts one alert listing the idle accounts with last used, total sent and Disable / Delete / Keep', async () => {
    old = await accountAt('legacy-crm', -200, -90, 1234);
    never = await accountAt('staging-never-used', -75);
    await accountAt('production-transactional', -200, -40); // used 40 days ago: not idle
    sixty = await accountAt('billing-invoices', -200, -60, 7);
    clock.set(realNow);

    const outcome = await jobs.tick(idleAccountsJob);
    expect(outcome.status).toBe('ran');
    expect(idleAlerts()).toHaveLength(1);
    firstAlert = idleAlerts()[0]!;
    expect(firstAlert.args.channel).toBe(ALERT_CHANNEL);
    const text = textOf(blocksOf(firstAlert));
    expect(text).toContain('*3 accounts* sent nothing for 60 days or more');
    expect(text).toMatch(/\*legacy-crm\*.*\n.*Last used \d{4}-\d{2}-\d{2} \(\d+ months? ago\) · Total sent: 1,234/);
    expect(text).toMatch(/\*staging-never-used\*.*\n.*Never used \(created \d{4}-\d{2}-\d{2}, \d+ (months?|days) ago\) · Total sent: 0/);
    expect(text).toMatch(/\*billing-invoices\*.*\n.*Total sent: 7/);
    expect(text).not.toContain('production-transactional');
    // Longest idle first, each with its three buttons.
    const order = blocksOf(firstAlert)
      .filter((b) => b.block_id?.startsWith(JOB_ALERT_BLOCK.idleAccountPrefix))
      .map((b) => b.block_id);
    expect(order).toEqual([old.id, never.id, sixty.id].map((id) => `${JOB_ALERT_BLOCK.idleAccountPrefix}${id}`));
    expect(buttonsFor(firstAlert, old).map((b) => [b.action_id, b.text?.text])).toEqual([
      [ACTION.idleDisable, 'Disable'],
      [ACTION.idleDelete, 'Delete'],
      [ACTION.idleKeep, 'Keep (30 days)'],
    ]);
    expect(
      events
        .filter((e) => e.type === 'account.idle')
        .map((e) => e.account?.name)
        .sort(),
    ).toEqual(['billing-invoices', 'legacy-crm', 'staging-never-used']);
    expect(events.find((e) => e.type === 'account.idle')?.actor).toMatchObject({ source: 'jobs', id: 'idle-accounts' });
  });

  it('does not repeat the alert on the next tick while nothing changed', async () => {
    clock.advanceDays(0.25);
    expect((await jobs.tick(idleAccountsJob)).status).toBe('ran');
    clock.set(daysFromNow(0.5));
    expect((await jobs.tick(idleAccountsJob)).status).toBe('ran');
    expect(idleAlerts()).toHaveLength(1);
  });

  it('of two instances racing on the same tick, one runs and posts once', async () => {
    await accountAt('staging-checkout', -100, -61);
    clock.set(daysFromNow(0.75));
    const before = idleAlerts().length;
    const outcomes = await Promise.all([jobs.runner('instance-a').runTick(idleAccountsJob, clock.now()), jobs.runner('instance-b').runTick(idleAccountsJob, clock.now())]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['ran', 'skipped']);
    expect(idleAlerts()).toHaveLength(before + 1);
    const latest = idleAlerts().at(-1)!;
    expect(textOf(blocksOf(latest))).toMatch(/\*staging-checkout\*\s+:new:/);
    expect(textOf(blocksOf(latest))).toContain('1 of them new since the last alert');
  });

  it('Keep, clicked by an admin, snoozes the flag, marks the alert, and the flag returns when the snooze ends', async () => {
    const post = idleAlerts().at(-1)!;
    await click(post, old, ACTION.idleKeep, ADMIN);
    const update = await h.api.nth('chat.update');
    expect(update.args).toMatchObject({ channel: ALERT_CHANNEL, ts: post.response.ts });
    const updated = update.args.blocks as AnyBlock[];
    const marked = updated.find((b) => b.block_id === `${JOB_ALERT_BLOCK.idleActionsPrefix}${old.id}`)!;
    expect(marked.type).toBe('context');
    expect(textOf(marked)).toMatch(/<@UADMIN> kept this account: left out of idle alerts until \d{4}-\d{2}-\d{2}/);
    // The other accounts keep their buttons.
    expect(updated.find((b) => b.block_id === `${JOB_ALERT_BLOCK.idleActionsPrefix}${never.id}`)?.type).toBe('actions');
    const kept = await jobs.deps.ctx.accounts.findById(old.id);
    expect(kept?.idleSnoozedUntil?.getTime()).toBeGreaterThan(daysFromNow(29).getTime());

    // Kept: left out of the flags (and no alert: nothing new) until the snooze ends 30 days after the click.
    const before = idleAlerts().length;
    clock.set(daysFromNow(1));
    await jobs.tick(idleAccountsJob);
    expect((await jobs.deps.flags.get(workspaceId, 'idle-accounts'))?.flagged).not.toContain(old.id);
    expect(idleAlerts()).toHaveLength(before);
    clock.set(daysFromNow(31));
    await jobs.tick(idleAccountsJob);
    expect((await jobs.deps.flags.get(workspaceId, 'idle-accounts'))?.flagged).toContain(old.id);
    expect(idleAlerts()).toHaveLength(before + 1);
    expect(textOf(blocksOf(idleAlerts().at(-1)!))).toMatch(/\*legacy-crm\*\s+:new:/);
  });

  it('Keep by a member is refused and says who may; nothing is snoozed', async () => {
    const post = idleAlerts().at(-1)!;
    const updates = h.api.of('chat.update').length;
    await click(post, never, ACTION.idleKeep, MEMBER);
    const reply = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === MEMBER.id));
    expect(String(reply.args.text)).toContain('Only admins may keep idle accounts.');
    expect(String(reply.args.text)).toContain('<@UADMIN>');
    expect((await jobs.deps.ctx.accounts.findById(never.id))?.idleSnoozedUntil).toBeUndefined();
    expect(h.api.of('chat.update')).toHaveLength(updates);
  });

  it('Disable opens the disable modal for admins and responders; members get the refusal in the modal', async () => {
    const post = idleAlerts().at(-1)!;
    const asResponder = await click(post, never, ACTION.idleDisable, RESPONDER);
    const view = await h.api.modal(asResponder.triggerId);
    expect(view.callback_id).toBe('smtpdesk_view_disable');
    expect(textOf(view)).toContain('staging-never-used');

    const asMember = await click(post, never, ACTION.idleDisable, MEMBER);
    const refused = await h.api.modal(asMember.triggerId);
    expect(textOf(refused)).toContain('Only admins and security responders may disable accounts.');
  });

  it('Delete opens the delete confirmation for admins (last used, type the name); responders are refused', async () => {
    const post = idleAlerts().at(-1)!;
    const asAdmin = await click(post, old, ACTION.idleDelete, ADMIN);
    const view = await h.api.modal(asAdmin.triggerId);
    expect(view.callback_id).toBe('smtpdesk_view_delete');
    expect(textOf(view)).toContain('legacy-crm');

    const asResponder = await click(post, old, ACTION.idleDelete, RESPONDER);
    expect(textOf(await h.api.modal(asResponder.triggerId))).toContain('Only admins may delete accounts.');
  });

  it('clears a flag when the account sends again, and alerts again when it goes idle again', async () => {
    await recordAcceptedMessage(jobs.deps.ctx, sixty, 3, daysFromNow(31.1));
    clock.set(daysFromNow(31.2));
    const before = idleAlerts().length;
    await jobs.tick(idleAccountsJob);
    expect(idleAlerts()).toHaveLength(before);
    const state = await jobs.deps.flags.get(workspaceId, 'idle-accounts');
    expect(state?.flagged).not.toContain(sixty.id);

    clock.set(daysFromNow(92));
    await jobs.tick(idleAccountsJob);
    expect(idleAlerts()).toHaveLength(before + 1);
    expect(textOf(blocksOf(idleAlerts().at(-1)!))).toMatch(/\*billing-invoices\*\s+:new:/);
    clock.set(daysFromNow(92.5));
    await jobs.tick(idleAccountsJob);
    expect(idleAlerts()).toHaveLength(before + 1);
  });

  it('keeps an alert pending while Slack refuses it, and posts it on the next tick', async () => {
    await accountAt('dev-sandbox', 33);
    // The alert channel also hears of the creation (the Slack role's sink); let that post go first.
    await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postMessage' && /created SMTP account \*dev-sandbox\*/.test(String(c.args.text))));
    clock.set(daysFromNow(93));
    const before = idleAlerts().length;
    h.api.fail('chat.postMessage', 'channel_not_found');
    await jobs.tick(idleAccountsJob);
    expect(idleAlerts()).toHaveLength(before);
    expect((await jobs.deps.flags.get(workspaceId, 'idle-accounts'))?.alert.pending).toBe(true);

    clock.set(daysFromNow(93.5));
    await jobs.tick(idleAccountsJob);
    expect(idleAlerts()).toHaveLength(before + 1);
    expect(textOf(blocksOf(idleAlerts().at(-1)!))).toMatch(/\*dev-sandbox\*\s+:new:/);
    expect((await jobs.deps.flags.get(workspaceId, 'idle-accounts'))?.alert).toMatchObject({ pending: false, channel: ALERT_CHANNEL });
  });
});
