// The flag use cases against the real database, with the clock under the test's control.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  DAY_MS,
  findIdleAccountFlags,
  findPlanLimitFlags,
  jobActor,
  keepIdleAccount,
  raiseIdleFlags,
  raisePlanLimitFlags,
  recordAcceptedMessage,
  type Account,
  type FlagDeps,
  type Workspace,
} from '../../src/domain/index.ts';
import { flagRepository } from '../../src/store/repositories/flags.ts';
import { admin, newWorkspace, openTestDomain, type TestDomain } from '../helpers/domain.ts';

let t: TestDomain;
let deps: FlagDeps;
const start = new Date('2026-06-01T09:00:00Z');
const at = (days: number) => new Date(start.getTime() + days * DAY_MS);
const actor = jobActor('test');
const thresholds = { slotsNearLimitPercent: 80, quotaNearLimitPercents: [80, 100] };

beforeAll(async () => {
  t = await openTestDomain();
  deps = { ctx: t.ctx, flags: flagRepository(t.db.models) };
});
afterAll(async () => {
  await t?.close();
});

async function accountCreatedAt(ws: Workspace, name: string, day: number): Promise<Account> {
  t.setNow(at(day));
  return (await createAccount(t.ctx, admin, ws.id, name)).account;
}

async function sendAt(a: Account, day: number, recipients = 1): Promise<void> {
  await recordAcceptedMessage(t.ctx, a, recipients, at(day));
}

async function idleNames(ws: Workspace): Promise<string[]> {
  const [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
  return f ? f.accounts.map((a) => a.name) : [];
}

describe('idle accounts', () => {
  it('flags 60 and 61 days without a send, not 59; never-used accounts count from their creation', async () => {
    const ws = await newWorkspace(t, '20k');
    const a59 = await accountCreatedAt(ws, 'idle-59', 0);
    const a60 = await accountCreatedAt(ws, 'idle-60', 0);
    const a61 = await accountCreatedAt(ws, 'idle-61', 0);
    await accountCreatedAt(ws, 'never-used-80', 30);
    await accountCreatedAt(ws, 'never-used-60', 50);
    await accountCreatedAt(ws, 'never-used-59', 51);
    await sendAt(a59, 51);
    await sendAt(a60, 50);
    await sendAt(a61, 49);
    t.setNow(at(110));
    const [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f!.accounts.map((a) => [a.name, a.idleDays])).toEqual([
      ['never-used-80', 80],
      ['idle-61', 61],
      ['idle-60', 60],
      ['never-used-60', 60],
    ]);
    expect(f!.accounts.find((a) => a.name === 'idle-61')!.lastUsedAt).toEqual(at(49));
  });

  it('raises each account once, publishes account.idle per newly idle account, and is quiet while nothing changes', async () => {
    const ws = await newWorkspace(t);
    const a = await accountCreatedAt(ws, 'staging-old', 0);
    const b = await accountCreatedAt(ws, 'legacy-crm', 0);
    await sendAt(a, 10);
    await sendAt(b, 30);
    t.setNow(at(75));
    let [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f!.raised.map((x) => x.name)).toEqual(['staging-old']);
    expect(f!.alertDue).toBe(true);
    const before = t.events.length;
    expect(await raiseIdleFlags(deps, f!, actor)).toBe(true);
    expect(t.events.slice(before).map((e) => [e.type, e.account?.name, e.actor.source])).toEqual([['account.idle', 'staging-old', 'jobs']]);

    t.setNow(at(76));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f).toMatchObject({ changed: false, alertDue: false, raised: [] });

    // legacy-crm becomes idle on day 90: only it is new.
    t.setNow(at(90));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f!.accounts.map((x) => x.name)).toEqual(['staging-old', 'legacy-crm']);
    expect(f!.raised.map((x) => x.name)).toEqual(['legacy-crm']);
    expect(await raiseIdleFlags(deps, f!, actor)).toBe(true);
    expect(t.events.slice(-1)[0]).toMatchObject({ type: 'account.idle', account: { name: 'legacy-crm' } });
  });

  it('clears a flag when the account sends again, and raises it again when it goes idle again', async () => {
    const ws = await newWorkspace(t);
    const a = await accountCreatedAt(ws, 'billing', 0);
    t.setNow(at(61));
    let [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(await raiseIdleFlags(deps, f!, actor)).toBe(true);

    await sendAt(a, 62);
    t.setNow(at(63));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f).toMatchObject({ accounts: [], cleared: [a.id], changed: true, alertDue: false });
    expect(await raiseIdleFlags(deps, f!, actor)).toBe(true);
    expect(await deps.flags.get(ws.id, 'idle-accounts')).toMatchObject({ flagged: [], fingerprint: '', raisedAt: null });

    t.setNow(at(122));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f).toMatchObject({ changed: true, alertDue: true });
    expect(f!.raised.map((x) => x.name)).toEqual(['billing']);
  });

  it('leaves a kept account out until its snooze ends, then flags it anew', async () => {
    const ws = await newWorkspace(t);
    await accountCreatedAt(ws, 'kept', 0);
    t.setNow(at(70));
    let [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    await raiseIdleFlags(deps, f!, actor);

    await keepIdleAccount(t.ctx, admin, ws.id, 'kept', 30);
    t.setNow(at(71));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f).toMatchObject({ accounts: [], changed: true });
    await raiseIdleFlags(deps, f!, actor);

    t.setNow(at(99));
    expect(await idleNames(ws)).toEqual([]);
    t.setNow(at(100));
    [f] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    expect(f).toMatchObject({ alertDue: true });
    expect(f!.raised.map((x) => x.name)).toEqual(['kept']);
  });

  it('of two runs racing on one change, exactly one stores it and publishes', async () => {
    const ws = await newWorkspace(t);
    await accountCreatedAt(ws, 'race', 0);
    t.setNow(at(61));
    const [f1] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    const [f2] = await findIdleAccountFlags(deps, { idleAfterDays: 60, workspaceId: ws.id });
    const before = t.events.length;
    const results = await Promise.all([raiseIdleFlags(deps, f1!, actor), raiseIdleFlags(deps, f2!, actor)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(t.events.slice(before).filter((e) => e.type === 'account.idle')).toHaveLength(1);
  });
});

describe('plan limits', () => {
  async function fill(ws: Workspace, count: number, names?: string[]): Promise<Account[]> {
    const out: Account[] = [];
    for (let i = 0; i < count; i++) out.push(await accountCreatedAt(ws, names?.[i] ?? `app-${i + 1}`, 0));
    return out;
  }

  async function useEmails(ws: Workspace, emails: number) {
    expect(await t.ctx.usage.reserveWorkspaceEmails(ws.id, t.now().toISOString().slice(0, 7), emails, 1_000_000)).toBe(true);
  }

  async function check(ws: Workspace) {
    const [f] = await findPlanLimitFlags(deps, { thresholds, idleAfterDays: 60, workspaceId: ws.id });
    return f!;
  }

  it.each([
    ['10k', 3, 'ok'],
    ['10k', 4, 'near'],
    ['10k', 5, 'full'],
    ['20k', 7, 'ok'],
    ['20k', 8, 'near'],
    ['20k', 9, 'near'],
    ['20k', 10, 'full'],
  ] as const)('%s plan with %i accounts: slots %s', async (plan, count, level) => {
    const ws = await newWorkspace(t, plan);
    await fill(ws, count);
    t.setNow(at(5));
    const f = await check(ws);
    expect(f.status.slots.level).toBe(level);
    expect(f.alertDue).toBe(level !== 'ok');
  });

  it.each([
    ['10k', 7_999, null],
    ['10k', 8_000, 80],
    ['10k', 10_000, 100],
    ['20k', 15_999, null],
    ['20k', 16_000, 80],
    ['20k', 20_000, 100],
  ] as const)('%s plan with %i emails this month: threshold %s', async (plan, emails, threshold) => {
    const ws = await newWorkspace(t, plan);
    t.setNow(at(5));
    await useEmails(ws, emails);
    const f = await check(ws);
    expect(f.status.quota.threshold).toBe(threshold);
    expect(f.alertDue).toBe(threshold !== null);
  });

  it('names the remedies: dormant accounts, consolidation candidates, the next plan up', async () => {
    const ws = await newWorkspace(t, '10k');
    const [checkout, billing, , prod] = await fill(ws, 4, ['staging-checkout', 'staging-billing', 'staging-alerts', 'production-transactional']);
    await sendAt(checkout!, 80);
    await sendAt(billing!, 80);
    await sendAt(prod!, 80, 25);
    t.setNow(at(100));
    const f = await check(ws);
    expect(f.status.slots).toMatchObject({ used: 4, limit: 5, level: 'near' });
    expect(f.remedies.dormant.map((a) => a.name)).toEqual(['staging-alerts']);
    expect(f.remedies.consolidation).toEqual([{ key: 'staging', basis: 'environment', accounts: ['staging-alerts', 'staging-billing', 'staging-checkout'], slotsFreed: 2 }]);
    expect(f.remedies.nextPlan).toMatchObject({ id: '20k', monthlyEmails: 20_000, accountSlots: 10 });

    const before = t.events.length;
    expect(await raisePlanLimitFlags(deps, f, actor)).toBe(true);
    const [event] = t.events.slice(before);
    expect(event).toMatchObject({
      type: 'plan.near_limit',
      workspaceId: ws.id,
      details: {
        plan: '10k',
        slots: { used: 4, limit: 5, level: 'near' },
        dormantAccounts: ['staging-alerts'],
        nextPlan: { id: '20k', monthlyEmails: 20_000, accountSlots: 10 },
      },
    });
  });

  it('alerts once per level: quiet while unchanged, again when a level rises, cleared when back under', async () => {
    const ws = await newWorkspace(t, '10k');
    const accounts = await fill(ws, 4);
    t.setNow(at(5));
    let f = await check(ws);
    expect(f.alertDue).toBe(true);
    await raisePlanLimitFlags(deps, f, actor);

    f = await check(ws);
    expect(f).toMatchObject({ changed: false, alertDue: false });

    await useEmails(ws, 8_000);
    f = await check(ws);
    expect(f).toMatchObject({ changed: true, alertDue: true });
    expect(f.next.flagged).toEqual(['quota:80@2026-06', 'slots:near']);
    await raisePlanLimitFlags(deps, f, actor);

    // A new month: the emails start from zero; one account deleted: slots back under the threshold.
    t.setNow(at(31));
    await t.ctx.accounts.delete(accounts[0]!.id);
    await t.ctx.workspaces.releaseSlot(ws.id);
    f = await check(ws);
    expect(f).toMatchObject({ changed: true, alertDue: false });
    expect(f.status.nearLimit).toBe(false);
    await raisePlanLimitFlags(deps, f, actor);
    expect(await deps.flags.get(ws.id, 'plan-limits')).toMatchObject({ flagged: [], raisedAt: null });

    await accountCreatedAt(ws, 'app-again', 31);
    f = await check(ws);
    expect(f).toMatchObject({ changed: true, alertDue: true });
  });
});
