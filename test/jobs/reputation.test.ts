// The reputation guard end to end: an account's 30-day outcomes (daily counters as the delivery worker and the
// bounces listener write them) pass the warn level: the job posts one warning with Pause now and Expected, once
// per episode; past the pause level it pauses the account with reason `reputation`. A workspace that opted out
// (`workspace set --reputation-pause off`) is only warned; Expected, clicked as a signed block_actions, keeps the
// guard from pausing; under the minimum volume no rate counts. The rates show in `accounts show --json`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, dayKey, showAccount, type Account } from '../../src/domain/index.ts';
import { reputationJob } from '../../src/jobs/reputation.ts';
import { admin } from '../helpers/domain.ts';
import { alertPosts, jobClock, jobsOn, type JobClock, type JobsUnderTest } from '../helpers/jobs.ts';
import { ALERT_CHANNEL, RESPONDER, startSlackHarness, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { eventually } from '../helpers/relay.ts';

let h: SlackHarness;
let ws: string;
let clock: JobClock;
let jobs: JobsUnderTest;

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
  clock = jobClock(new Date());
  jobs = jobsOn(h.rt, clock);
});
afterAll(async () => {
  await h?.close();
});

/** Outcomes of one account on the day `daysAgo` before the clock, as the counters record them. */
async function outcomes(account: Account, daysAgo: number, delta: { delivered?: number; bounced?: number; complaints?: number }) {
  const day = dayKey(new Date(clock.now().getTime() - daysAgo * 86_400_000));
  await h.rt.db.models.monthlyUsage.collection.updateOne(
    { _id: `${day}:day:${account.id}` as never },
    { $inc: delta, $setOnInsert: { scope: 'account-day', workspaceId: account.workspaceId, accountId: account.id, month: day.slice(0, 7), day } },
    { upsert: true },
  );
}

/** One scheduled run, 15 minutes after the last (a run's lease covers its own slot). */
async function tick() {
  clock.set(new Date(clock.now().getTime() + 15 * 60_000));
  const t = await jobs.tick(reputationJob);
  expect(t.status).toBe('ran');
  return t;
}

const warnings = () => alertPosts(h.api, 'Delivery reputation');
const status = async (name: string) => (await showAccount(h.rt.ctx, admin, ws, name)).status;

function buttonsOf(alert: RecordedCall, accountId: string) {
  const block = (alert.args.blocks as { block_id?: string; elements?: { action_id: string; value: string }[] }[]).find(
    (b) => b.block_id === `smtpdesk_reputation_actions_${accountId}`,
  );
  return block;
}

describe('reputation guard', () => {
  let noisy: Account;

  it('warns once per episode with Pause now and Expected, then pauses past the pause level', async () => {
    noisy = (await createAccount(h.rt.ctx, admin, ws, 'newsletter-prod')).account;
    await outcomes(noisy, 3, { delivered: 188, bounced: 12 }); // 6 % bounces over 200 outcomes
    const t = await tick();
    expect(warnings(), JSON.stringify(t)).toHaveLength(1);
    const alert = warnings()[0]!;
    expect(alert.args.channel).toBe(ALERT_CHANNEL);
    expect(String(alert.args.text)).toContain('newsletter-prod');
    expect(buttonsOf(alert, noisy.id)?.elements?.map((e) => e.action_id)).toEqual(['smtpdesk_reputation_pause', 'smtpdesk_reputation_expected']);
    expect(await status('newsletter-prod')).toBe('active');

    await tick();
    expect(warnings()).toHaveLength(1); // the same episode: no second warning

    await outcomes(noisy, 1, { bounced: 20 }); // 32 of 220: past 10 %
    const t2 = await tick();
    const a = await showAccount(h.rt.ctx, admin, ws, 'newsletter-prod');
    expect(a.status, JSON.stringify(t2)).toBe('disabled');
    expect(a.disabled).toMatchObject({ reason: 'reputation' });
    expect(a.disabled?.note).toMatch(/bounce rate 14\.5 %/);
    expect(warnings()).toHaveLength(2);
    expect(String(warnings()[1]!.args.text)).toContain('paused: newsletter-prod');
    const audit = await h.rt.ctx.audit.list(ws, { accountId: noisy.id, limit: 20 });
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['account.reputation', 'account.disabled']));
  });

  it('shows the rates in accounts show --json', async () => {
    const run = await runSmtpdesk(['accounts', 'show', 'newsletter-prod', '--json'], { MONGODB_URI: h.rt.config.database.uri, SMTPDESK_WORKSPACE: ws });
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ complaints: 0, bounceRate: 32 / 220, complaintRate: 0, last30Days: expect.objectContaining({ delivered: 188, bounced: 32 }) });
  });

  it('only warns where the workspace opted out of pausing, and counts nothing under the minimum volume', async () => {
    const set = await runSmtpdesk(['workspace', 'set', '--reputation-pause', 'off'], { MONGODB_URI: h.rt.config.database.uri, SMTPDESK_WORKSPACE: ws });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/no pause \(warn only\)/);
    const spammy = (await createAccount(h.rt.ctx, admin, ws, 'promo-prod')).account;
    await outcomes(spammy, 2, { delivered: 150, bounced: 50 });
    const tiny = (await createAccount(h.rt.ctx, admin, ws, 'tiny-prod')).account;
    await outcomes(tiny, 2, { delivered: 5, bounced: 5 });
    await tick();
    expect(await status('promo-prod')).toBe('active');
    expect(String(warnings().at(-1)!.args.text)).toContain('promo-prod');
    expect(warnings().some((w) => String(w.args.text).includes('tiny-prod'))).toBe(false);
    const back = await runSmtpdesk(['workspace', 'set', '--reputation-pause', 'on'], { MONGODB_URI: h.rt.config.database.uri, SMTPDESK_WORKSPACE: ws });
    expect(back.code).toBe(0);
  });

  it('Expected, clicked by a responder, keeps the guard from pausing the account in this episode', async () => {
    const seasonal = (await createAccount(h.rt.ctx, admin, ws, 'seasonal-prod')).account;
    await outcomes(seasonal, 2, { delivered: 190, bounced: 10, complaints: 0 }); // 5 %: warn
    await tick();
    const alert = warnings().at(-1)!;
    const block = buttonsOf(alert, seasonal.id)!;
    const value = block.elements!.find((e) => e.action_id === 'smtpdesk_reputation_expected')!.value;
    const r = await h.click('smtpdesk_reputation_expected', value, RESPONDER, {
      ts: String(alert.response.ts),
      text: alert.args.text,
      blocks: alert.args.blocks,
      blockId: block.block_id!,
    });
    expect(r.status).toBe(200);
    // The click is acknowledged first and handled after: the alert is updated once it is done.
    await eventually(async () => h.api.of('chat.update').some((c) => JSON.stringify(c.args.blocks).includes('marked this as expected')), 5000, 'the Expected click');
    await outcomes(seasonal, 1, { bounced: 40 });
    await tick();
    expect(await status('seasonal-prod')).toBe('active');
  });
});
