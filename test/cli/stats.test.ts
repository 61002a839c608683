// Usage at a glance: `accounts stats` after mail on several days (counted with an injected clock, as the relay
// and the worker count it), the accounts that use most of the month's quota in `usage`, and the activity label
// of every account in `accounts list`.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAccount, createWorkspace, DAY_MS, recordAcceptedMessage, recordDeliveryOutcome, type DomainContext } from '../../src/domain/index.ts';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { createDomainContext } from '../../src/store/index.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { admin } from '../helpers/domain.ts';

vi.setConfig({ testTimeout: 120_000 });

const uri = testDatabaseUri();
let db: Database;
let ctx: DomainContext;
let now = new Date();
const today = new Date();
const daysAgo = (n: number) => new Date(today.getTime() - n * DAY_MS);
const day = (n: number) => daysAgo(n).toISOString().slice(0, 10);
const env = { MONGODB_URI: uri, SMTPDESK_WORKSPACE: 'stats' };
const cli = (...args: string[]) => runSmtpdesk(args, env);

beforeAll(async () => {
  db = await connectDatabase(uri);
  ctx = createDomainContext(db, { bcryptCost: 4, clock: () => new Date(now) });
  const ws = await createWorkspace(ctx, admin, { name: 'stats', planId: '10k', defaultPlan: '10k' });
  now = daysAgo(100);
  const app = (await createAccount(ctx, admin, ws.id, 'app')).account;
  const quiet = (await createAccount(ctx, admin, ws.id, 'quiet-one')).account;
  const idle = (await createAccount(ctx, admin, ws.id, 'idle-one')).account;
  await createAccount(ctx, admin, ws.id, 'never-one');
  // The clock moves day by day, the way a real month would go; nothing passes `at`.
  const sendOn = async (
    account: { id: string; workspaceId: string },
    n: number,
    sent: number,
    outcome: { delivered?: number; bounced?: number; deferred?: number; failed?: number } = {},
  ) => {
    now = new Date(daysAgo(n).getTime());
    await recordAcceptedMessage(ctx, account, sent);
    await recordDeliveryOutcome(ctx, account, outcome);
  };
  await sendOn(idle, 70, 5, { delivered: 5 });
  await sendOn(quiet, 40, 3, { delivered: 3 });
  await sendOn(app, 6, 10, { delivered: 10 });
  await sendOn(app, 4, 40, { delivered: 38, bounced: 2 });
  await sendOn(app, 2, 20, { delivered: 17, bounced: 1, deferred: 2, failed: 0 });
  await sendOn(app, 0, 80, { delivered: 70, bounced: 6, failed: 4 });
}, 60_000);
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

describe('accounts stats', () => {
  it('shows each day of the window with its numbers and a one-line sparkline', async () => {
    const r = await cli('accounts', 'stats', 'app', '--days', '7');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [head] = r.stdout.split('\n');
    // Days 6..0 ago: 10, 0, 40, 0, 20, 0, 80 sent.
    // ▁ is a day with none; the rest scale to the busiest day (80 → █, 10 → ▂).
    expect(head).toBe('app, last 7 day(s): sent ▂▁▅▁▃▁█  delivery rate 91.2%');
    expect(r.stdout).toMatch(/^DAY\s+SENT\s+DELIVERED\s+BOUNCED\s+DEFERRED\s+FAILED$/m);
    expect(r.stdout).toMatch(new RegExp(`^${day(4)}\\s+40\\s+38\\s+2\\s+0\\s+0$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${day(3)}\\s+0\\s+0\\s+0\\s+0\\s+0$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${day(0)}\\s+80\\s+70\\s+6\\s+0\\s+4$`, 'm'));
    expect(r.stdout).toMatch(/^TOTAL\s+150\s+135\s+9\s+2\s+4$/m);
  });

  it('gives the same in JSON, oldest day first, with the delivery-rate trend', async () => {
    const r = await cli('accounts', 'stats', 'app', '--json');
    const s = r.json<{ days: { day: string; sent: number }[]; totals: { sent: number }; trend: { recent: number; before: number | null; direction: string | null } }>();
    expect(s.days).toHaveLength(30);
    expect(s.days[0]!.day).toBe(day(29));
    expect(s.days.at(-1)).toMatchObject({ day: day(0), sent: 80, delivered: 70, bounced: 6, failed: 4 });
    expect(s.totals.sent).toBe(150);
    // Everything fell within the last 7 days: nothing before them to compare with.
    expect(s.trend).toEqual({ recent: 135 / 148, before: null, direction: null });
    const bad = await cli('accounts', 'stats', 'app', '--days', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('The number of days must be between 1 and 366.');
  });
});

describe('accounts show', () => {
  it('carries the 30-day sparkline and the delivery trend', async () => {
    const r = await cli('accounts', 'show', 'app');
    expect(r.stdout).toMatch(/^Last 30 days\s+▁{23}▂▁▅▁▃▁█  150 sent \(smtpdesk accounts stats app\)$/m);
    expect(r.stdout).toMatch(/^Delivery trend\s+91\.2%$/m);
  });
});

describe('usage', () => {
  it("ranks the accounts that use most of this month's quota, with their share", async () => {
    const r = await cli('usage', '--json');
    const u = r.json<{ topConsumers: { name: string; sent: number; shareOfQuota: number }[] }>();
    const month = today.toISOString().slice(0, 7);
    // Only this month's mail counts; "app" sent all of it unless the month began less than 6 days ago.
    const first = u.topConsumers[0]!;
    expect(first.name).toBe('app');
    expect(first.shareOfQuota).toBeCloseTo(first.sent / 10_000, 6);
    const text = (await cli('usage')).stdout;
    expect(text).toContain(`Top consumers of the ${month} quota:`);
    expect(text).toMatch(/^ACCOUNT\s+SENT\s+OF QUOTA\s+OF SENT\s+BOUNCES 30D\s+COMPLAINTS 30D$/m);
    expect(text).toMatch(new RegExp(`^app\\s+${first.sent}\\s+${((first.sent / 10_000) * 100).toFixed(1)}%\\s+\\d+\\.\\d%\\s+(\\S+ %|—)\\s+(\\S+ %|—)$`, 'm'));
  });
});

describe('activity labels', () => {
  it('labels every account Active, Quiet, Idle or Never used in the list', async () => {
    const r = await cli('accounts', 'list', '--json');
    const labels = Object.fromEntries(r.json<{ name: string; activity: string }[]>().map((a) => [a.name, a.activity]));
    expect(labels).toEqual({ app: 'Active', 'quiet-one': 'Quiet', 'idle-one': 'Idle', 'never-one': 'Never used' });
    const text = (await cli('accounts', 'list')).stdout;
    expect(text).toMatch(/^quiet-one\s+.*\s+Quiet\s+\d{4}-\d{2}-\d{2}$/m);
    expect(text).toMatch(/^never-one\s+.*\s+never\s+Never used\s+\d{4}-\d{2}-\d{2}$/m);
  });
});
