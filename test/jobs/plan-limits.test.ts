// The plan-limits job end to end: real Runtime and database, alerts as the fake Slack Web API received them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createAccount, createWorkspace, DAY_MS, monthKey, recordAcceptedMessage, type Actor, type DomainEvent, type Workspace } from '../../src/domain/index.ts';
import { createLogger } from '../../src/log.ts';
import { planLimitsJob } from '../../src/jobs/plan-limits.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { alertPosts, jobClock, jobsOn, type JobClock, type JobsUnderTest } from '../helpers/jobs.ts';
import { FakeSlackApi, textOf, type RecordedCall } from '../helpers/slack.ts';

const operator: Actor = { source: 'cli', id: 'op', name: 'op (cli)', roles: ['admin'] };
const start = new Date('2026-11-10T12:00:00Z');

let api: FakeSlackApi;
let rt: Runtime;
let uri: string;
let clock: JobClock;
let jobs: JobsUnderTest;
const events: DomainEvent[] = [];

beforeAll(async () => {
  api = await new FakeSlackApi().start();
  uri = testDatabaseUri();
  rt = await openAppRuntime(loadConfig({ MONGODB_URI: uri, BCRYPT_COST: '4', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: api.apiUrl }), {
    log: createLogger({ level: 'silent' }),
    quiet: true,
  });
  rt.events.subscribe({ publish: (e) => void events.push(e) });
  clock = jobClock(start);
  jobs = jobsOn(rt, clock);
});
afterAll(async () => {
  await rt?.close();
  await api?.close();
  if (uri) await dropTestDatabase(uri);
});

async function workspace(name: string, planId: string): Promise<Workspace> {
  return createWorkspace(jobs.deps.ctx, operator, { name, planId, alertChannel: `C-${name}`, defaultPlan: '10k' });
}

async function accounts(ws: Workspace, names: string[]) {
  const out = [];
  for (const n of names) out.push((await createAccount(jobs.deps.ctx, operator, ws.id, n)).account);
  return out;
}

function planAlerts(ws: Workspace): RecordedCall[] {
  return alertPosts(api, `${ws.name} is near its plan's limits`);
}

async function useEmails(ws: Workspace, n: number) {
  expect(await jobs.deps.ctx.usage.reserveWorkspaceEmails(ws.id, monthKey(clock.now()), n, 1_000_000)).toBe(true);
}

describe('plan-limits job', () => {
  it('alerts a 10k workspace at 4 of 5 slots with the remedies named: dormant accounts, consolidation, next plan', async () => {
    clock.set(start);
    const ws = await workspace('acme', '10k');
    const [, , , prod] = await accounts(ws, ['staging-checkout', 'staging-billing', 'staging-alerts', 'production-transactional']);
    clock.set(new Date(start.getTime() + 70 * DAY_MS));
    await recordAcceptedMessage(jobs.deps.ctx, prod!, 40, clock.now());

    expect((await jobs.tick(planLimitsJob)).status).toBe('ran');
    const posts = planAlerts(ws);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.args.channel).toBe('C-acme');
    const text = textOf(posts[0]!.args.blocks);
    expect(text).toContain('On the *10k* plan, 4 of 5 account slots are used (1 slot left).');
    expect(text).toMatch(/\*Delete dormant accounts\*: 3 accounts sent nothing for 60 days or more; deleting frees 3 slots/);
    expect(text).toMatch(/• \*staging-alerts\*: never used, created 2026-11-10, 0 sent/);
    expect(text).not.toMatch(/• \*production-transactional\*: /);
    expect(text).toContain('• staging accounts: *staging-alerts*, *staging-billing*, *staging-checkout* (merging them frees 2 slots)');
    expect(text).toContain('*Upgrade to the 20k plan*: 20,000 emails/month and 10 accounts (now 10,000 and 5)');
    const event = events.find((e) => e.type === 'plan.near_limit' && e.workspaceId === ws.id);
    expect(event?.details).toMatchObject({ plan: '10k', slots: { used: 4, limit: 5, level: 'near' }, nextPlan: { id: '20k' } });

    // An hour later nothing changed: no second alert. A fifth account fills the plan: a new alert.
    clock.set(new Date(clock.now().getTime() + 3_600_000));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(1);
    await accounts(ws, ['crm']);
    clock.set(new Date(clock.now().getTime() + 3_600_000));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(2);
    expect(textOf(planAlerts(ws)[1]!.args.blocks)).toContain('On the *10k* plan, all 5 account slots are used.');
  });

  it('alerts a 20k workspace at 80 % and again at 100 % of its emails, and clears the flag in the next month', async () => {
    clock.set(new Date('2027-02-10T08:00:00Z'));
    const ws = await workspace('globex', '20k');
    await accounts(ws, ['production-app']);
    await useEmails(ws, 15_999);
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(0);

    await useEmails(ws, 1);
    clock.set(new Date('2027-02-10T09:00:00Z'));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(1);
    expect(textOf(planAlerts(ws)[0]!.args.blocks)).toContain('On the *20k* plan, 16,000 of 20,000 emails this month are sent (80%).');
    expect(textOf(planAlerts(ws)[0]!.args.blocks)).toContain('*Upgrade to the 50k plan*: 50,000 emails/month and 25 accounts');

    clock.set(new Date('2027-02-10T10:00:00Z'));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(1);

    await useEmails(ws, 4_000);
    clock.set(new Date('2027-02-10T11:00:00Z'));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(2);
    expect(textOf(planAlerts(ws)[1]!.args.blocks)).toContain('20,000 of 20,000 emails this month are sent (100%)');

    // March: the count starts again, the flag clears itself; 80 % in March alerts again.
    clock.set(new Date('2027-03-01T00:00:00Z'));
    await jobs.tick(planLimitsJob);
    expect(await jobs.deps.flags.get(ws.id, 'plan-limits')).toMatchObject({ flagged: [], raisedAt: null });
    await useEmails(ws, 16_500);
    clock.set(new Date('2027-03-01T01:00:00Z'));
    await jobs.tick(planLimitsJob);
    expect(planAlerts(ws)).toHaveLength(3);
  });

  it('a dry run reports what it would alert, posts nothing and stores nothing', async () => {
    clock.set(new Date('2027-03-02T08:00:00Z'));
    const ws = await workspace('initech', '10k');
    await accounts(ws, ['dev-a', 'dev-b', 'dev-c', 'dev-d']);
    const postsBefore = alertPosts(api, "near its plan's limits").length;
    const report = await jobs.runner().runNow(planLimitsJob, { dryRun: true, workspaceId: ws.id });
    expect(report.dryRun).toBe(true);
    expect(report.rows).toEqual([
      {
        workspace: 'initech',
        plan: '10k',
        slots: '4/5 (80%)',
        emails: '0/10,000 (0%)',
        flags: 'slots:near',
        remedies: '0 dormant, 1 consolidation group(s), upgrade to 20k',
        action: 'would alert',
      },
    ]);
    expect(report.summary).toContain('dry run, nothing posted or stored');
    expect(alertPosts(api, "near its plan's limits").length).toBe(postsBefore);
    expect(await jobs.deps.flags.get(ws.id, 'plan-limits')).toBeNull();
    expect(events.some((e) => e.type === 'plan.near_limit' && e.workspaceId === ws.id)).toBe(false);
  });
});
