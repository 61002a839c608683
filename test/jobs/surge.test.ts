// The surge job end to end: an account with a quiet history (injected as hourly documents) sends a burst
// through the real relay; the job (at an injected time) posts one alert with *Disable now* and *Expected*;
// *Disable now*, clicked as a signed block_actions, disables the account and the next AUTH gets 535; the next
// run does not repeat the alert. A workspace with auto-disable on surge has the account disabled at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createAccount, hourOf, HOUR_MS, type Account } from '../../src/domain/index.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay.ts';
import { surgeJob } from '../../src/jobs/surge.ts';
import { JOB_ALERT_BLOCK } from '../../src/slack/ids.ts';
import { admin } from '../helpers/domain.ts';
import { alertPosts, jobClock, jobsOn, type JobClock, type JobsUnderTest } from '../helpers/jobs.ts';
import { eventually, testCertificate } from '../helpers/relay.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { ALERT_CHANNEL, RESPONDER, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

let h: SlackHarness;
let ws: string;
let relay: RunningRelay;
let clock: JobClock;
let jobs: JobsUnderTest;

beforeAll(async () => {
  // Outbound webhooks on: the account.surge event lands in the outbox (the http role, not running here, sends it).
  h = await startSlackHarness({ env: { OUTBOUND_WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', OUTBOUND_WEBHOOK_SECRET: 'outbound-secret-0123456789' } });
  ws = await h.workspaceId();
  await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
  clock = jobClock(new Date());
  relay = await startRelay(h.rt, { tls: await testCertificate(), host: '127.0.0.1', port: 0, clock: () => clock.now() });
  jobs = jobsOn(h.rt, clock);
});
afterAll(async () => {
  await relay?.close();
  await h?.close();
});

/** 14 days of at most 10 recipients an hour, from the loopback network the test sends from. */
async function quietHistory(account: Account, now: Date) {
  const start = hourOf(now).getTime() - 2 * HOUR_MS;
  const docs = Array.from({ length: 14 * 24 }, (_, i) => {
    const hour = new Date(start - i * HOUR_MS);
    return {
      _id: `${account.id}:${hour.toISOString()}`,
      accountId: account.id,
      workspaceId: account.workspaceId,
      hour,
      recipients: i % 24 === 3 ? 10 : 2,
      refused: 0,
      networks: ['127.0.0.0/24'],
    };
  });
  await h.rt.db.models.accountHours.insertMany(docs);
}

async function burst(username: string, password: string, recipients: number) {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: username, pass: password } });
  const to = Array.from({ length: recipients }, (_, i) => `r${i}@example.org`);
  const info = await t.sendMail({ from: 'app@example.com', to, subject: 'burst', text: 'x' });
  expect(info.accepted).toHaveLength(recipients);
}

const surgeAlerts = () => alertPosts(h.api, 'Unusual sending');

describe('surge job', () => {
  let issued: Awaited<ReturnType<typeof createAccount>>;
  let alert: RecordedCall;

  it('finds the burst (the CLI dry run shows it) and posts one alert with Disable now and Expected', async () => {
    issued = await createAccount(h.rt.ctx, admin, ws, 'billing-mailer');
    await quietHistory(issued.account, clock.now());
    await burst(issued.username, issued.password, 60);
    const hourId = `${issued.account.id}:${hourOf(clock.now()).toISOString()}`;
    await eventually(async () => ((await h.rt.db.models.accountHours.findById(hourId).lean<{ recipients: number }>())?.recipients ?? 0) === 60, 5000, 'the hourly count');

    const dry = await runSmtpdesk(['jobs', 'run', 'surge', '--dry-run'], { MONGODB_URI: h.rt.config.database.uri });
    expect(dry.code, dry.stderr).toBe(0);
    // 60, or a little less when the run falls in the next clock hour (the previous hour is weighted by what is left of it).
    expect(dry.stdout).toMatch(/billing-mailer\s+volume\s+(60|5\d)\s+10\s+new\s+would alert/);
    expect(surgeAlerts()).toHaveLength(0);

    clock.set(new Date(clock.now().getTime() + 5 * 60_000));
    expect((await jobs.tick(surgeJob)).status).toBe('ran');
    expect(surgeAlerts()).toHaveLength(1);
    alert = surgeAlerts()[0]!;
    expect(alert.args.channel).toBe(ALERT_CHANNEL);
    const text = textOf(alert.args.blocks);
    expect(text).toContain('*billing-mailer*');
    expect(text).toMatch(/\*Volume\*: (60|5\d) recipients in the last hour; its busiest hour in 14 days had 10\./);
    const actions = (alert.args.blocks as { block_id?: string; elements?: { action_id: string; value: string }[] }[]).find(
      (b) => b.block_id === `${JOB_ALERT_BLOCK.surgeActionsPrefix}${issued.account.id}`,
    );
    expect(actions?.elements?.map((e) => e.action_id)).toEqual(['smtpdesk_surge_disable', 'smtpdesk_surge_expected']);
    const audit = await h.rt.ctx.audit.list(ws, { accountId: issued.account.id, limit: 10 });
    expect(audit.map((e) => e.action)).toContain('account.surge');
    const outbox = await h.rt.db.models.webhookOutbox.find({ type: 'account.surge' }).lean<{ body: string }[]>();
    expect(outbox).toHaveLength(1);
    const event = JSON.parse(outbox[0]!.body) as { account: { name: string }; details: { signals: { signal: string }[] } };
    expect(event.account.name).toBe('billing-mailer');
    expect(event.details.signals.map((x) => x.signal)).toEqual(['volume']);
  });

  it('a second run does not repeat the alert', async () => {
    clock.set(new Date(clock.now().getTime() + 5 * 60_000));
    expect((await jobs.tick(surgeJob)).status).toBe('ran');
    expect(surgeAlerts()).toHaveLength(1);
  });

  it('Disable now, clicked by a responder, disables the account at once; the next AUTH gets 535', async () => {
    const actions = (alert.args.blocks as { block_id?: string; elements?: { action_id: string; value: string }[] }[]).find(
      (b) => b.block_id === `${JOB_ALERT_BLOCK.surgeActionsPrefix}${issued.account.id}`,
    )!;
    const value = actions.elements!.find((e) => e.action_id === 'smtpdesk_surge_disable')!.value;
    const message = { ts: String(alert.response.ts), text: alert.args.text, blocks: alert.args.blocks, blockId: actions.block_id! };
    const r = await h.click('smtpdesk_surge_disable', value, RESPONDER, message);
    expect(r.status).toBe(200);
    await eventually(async () => (await h.rt.ctx.accounts.findById(issued.account.id))?.status === 'disabled', 5000, 'the disable');
    const account = await h.rt.ctx.accounts.findById(issued.account.id);
    expect(account?.disabled?.reason).toBe('suspected_compromise');
    const update = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.update' && textOf(c.args).includes('disabled this account')));
    expect(textOf(update.args)).toContain(`<@${RESPONDER.id}>`);
    const c = await RawSmtpClient.connect(relay.port);
    try {
      expect((await c.login(issued.username, issued.password)).code).toBe(535);
    } finally {
      c.close();
    }
  });

  it('with auto-disable on surge the account is disabled at once and the alert says so', async () => {
    const set = await runSmtpdesk(['workspace', 'set', '--surge-auto-disable', 'on'], { MONGODB_URI: h.rt.config.database.uri, SMTPDESK_WORKSPACE: ws });
    expect(set.code, set.stderr).toBe(0);
    const other = await createAccount(h.rt.ctx, admin, ws, 'newsletter');
    await quietHistory(other.account, clock.now());
    await burst(other.username, other.password, 80);
    const hourId = `${other.account.id}:${hourOf(clock.now()).toISOString()}`;
    await eventually(async () => ((await h.rt.db.models.accountHours.findById(hourId).lean<{ recipients: number }>())?.recipients ?? 0) === 80, 5000, 'the hourly count');
    clock.set(new Date(clock.now().getTime() + 60_000));
    await jobs.tick(surgeJob);
    expect(surgeAlerts()).toHaveLength(2);
    expect(textOf(surgeAlerts()[1]!.args.blocks)).toContain('Disabled automatically');
    expect((await h.rt.ctx.accounts.findById(other.account.id))?.status).toBe('disabled');
  });

  it('an alert that could not go out (no alert channel yet) goes out on the first run after one is set', async () => {
    await h.rt.ctx.workspaces.update(ws, { surgeAutoDisable: undefined, alertChannel: undefined });
    const third = await createAccount(h.rt.ctx, admin, ws, 'receipts');
    await quietHistory(third.account, clock.now());
    await burst(third.username, third.password, 70);
    const hourId = `${third.account.id}:${hourOf(clock.now()).toISOString()}`;
    await eventually(async () => ((await h.rt.db.models.accountHours.findById(hourId).lean<{ recipients: number }>())?.recipients ?? 0) === 70, 5000, 'the hourly count');
    clock.set(new Date(clock.now().getTime() + 60_000));
    await jobs.tick(surgeJob);
    expect(surgeAlerts()).toHaveLength(2);
    await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
    clock.set(new Date(clock.now().getTime() + 5 * 60_000));
    await jobs.tick(surgeJob);
    expect(surgeAlerts()).toHaveLength(3);
    expect(textOf(surgeAlerts()[2]!.args.blocks)).toContain('*receipts*');
    clock.set(new Date(clock.now().getTime() + 5 * 60_000));
    await jobs.tick(surgeJob);
    expect(surgeAlerts()).toHaveLength(3);
  });
});
