// The relay's group commit (src/relay/commit.ts), driven directly against a real store: batching rules,
// the quota inside a batch, and what a store failure in the middle of a batch leaves behind.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { monthKey, readUsage, showAccount } from '../../src/domain/index.ts';
import { createCommitQueue } from '../../src/relay/relay.ts';
import { RepairQueue } from '../../src/relay/repairs.ts';
import { StoreUnavailable, type CommitRequest } from '../../src/relay/commit.ts';
import { createLedger, workspaceMonthId, type Ledger } from '../../src/store/ledger/index.ts';
import { newQueueId, type Queue } from '../../src/store/queue/index.ts';
import { createAccount } from '../../src/domain/index.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { eventually } from '../helpers/relay.ts';

let h: DeliveryHarness;
let account: { id: string; name: string; workspaceId: string; username: string };
beforeAll(async () => {
  h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  // A fresh account per test: its counters start at zero.
  const issued = await createAccount(h.rt.ctx, admin, h.workspace.id, `commit-${Math.random().toString(36).slice(2, 8)}`);
  account = { id: issued.account.id, name: issued.account.name, workspaceId: h.workspace.id, username: issued.username };
});

function request(recipients: number, n = 0): CommitRequest {
  const to = Array.from({ length: recipients }, (_, i) => `r${n}-${i}@example.test`);
  return {
    principal: { accountId: account.id, workspaceId: account.workspaceId, username: account.username, credentialVersion: 1, policy: { allowedSenders: [] } },
    message: {
      id: newQueueId(),
      workspaceId: account.workspaceId,
      accountId: account.id,
      username: account.username,
      from: 'app@sender.test',
      to,
      head: Buffer.from(testMessage()),
      at: new Date(),
    },
  };
}

function commitQueue(queue?: Queue) {
  const repairs = new RepairQueue(h.rt.log, { firstDelayMs: 20, maxDelayMs: 100 });
  return { ...createCommitQueue(h.rt, { queue, repairs, log: h.rt.log, storeTimeoutMs: 5_000 }), repairs };
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    () => 'stored' as const,
    (err: Error & { code?: string }) => err.code ?? String(err),
  );

async function queuedFor(accountId: string): Promise<number> {
  return (await h.rt.queue.listMessages({ workspaceId: h.workspace.id, accountId, limit: 1000 })).length;
}

/** Batches neither counted (a notice) nor refused (a tombstone). */
async function openBatches() {
  return (await h.rt.ledger.batches()).filter((b) => b.state === 'open');
}

async function setQuotaUsed(sent: number) {
  const id = workspaceMonthId(h.workspace.id, monthKey(new Date()));
  await h.rt.db.models.monthlyUsage.updateOne(
    { _id: id },
    { $set: { sent }, $setOnInsert: { scope: 'workspace', workspaceId: h.workspace.id, month: monthKey(new Date()) } },
    { upsert: true },
  );
}

it('commits a lone message at once, with no timer waiting for company', async () => {
  const { commits } = commitQueue();
  const done = commits.submit(request(1));
  // The commit started inside submit(): nothing waits for a tick or a timer before writing.
  expect(commits.stats.started).toBe(1);
  await done;
  expect(commits.stats).toEqual({ started: 1, commits: 1, messages: 1 });
  expect((await showAccount(h.rt.ctx, admin, h.workspace.id, account.name)).counters.sent).toBe(1);
  expect(await queuedFor(account.id)).toBe(1);
});

it('messages that finish while a commit is in flight share the next commit, each with its own answer', async () => {
  const { commits } = commitQueue();
  const answers = [request(1, 0), request(2, 1), request(1, 2), request(3, 3), request(1, 4), request(1, 5)].map((r) => settle(commits.submit(r)));
  expect(await Promise.all(answers)).toEqual(Array(6).fill('stored'));
  // The first went alone; the five that came while it was written went together.
  expect(commits.stats).toEqual({ started: 2, commits: 2, messages: 6 });
  const shown = await showAccount(h.rt.ctx, admin, h.workspace.id, account.name);
  expect(shown.counters.sent).toBe(9);
  expect(shown.lastUsedAt).toBeDefined();
  expect(await queuedFor(account.id)).toBe(6);
  // Both batches are counted (closed right after the answers): what is left of them is a notice of new work for
  // the workers of other processes.
  await eventually(async () => (await openBatches()).length === 0, 5_000, 'the batches to close');
});

it('a batch that does not fit the quota is reserved message by message: the ones that fit are stored, the other gets 552', async () => {
  const plan = (await readUsage(h.rt.ctx, h.workspace.id)).plan.monthlyEmails;
  await setQuotaUsed(plan - 4);
  const { commits } = commitQueue();
  const first = settle(commits.submit(request(1, 0)));
  // Second commit: 1 + 1 + 2 + 1 = 5 emails for 3 left.
  const rest = [request(1, 1), request(1, 2), request(2, 3), request(1, 4)].map((r) => settle(commits.submit(r)));
  expect(await first).toBe('stored');
  expect(await Promise.all(rest)).toEqual(['stored', 'stored', 'QUOTA.EXCEEDED', 'stored']);
  const usage = await readUsage(h.rt.ctx, h.workspace.id);
  expect(usage.emailsThisMonth).toBe(plan);
  expect((await showAccount(h.rt.ctx, admin, h.workspace.id, account.name)).counters.sent).toBe(4);
  expect(await queuedFor(account.id)).toBe(4);
  await setQuotaUsed(0);
});

it('a store failure in the middle of a batch: every message of it gets 451, nothing is stored or counted, the quota comes back', async () => {
  await setQuotaUsed(100);
  let landed = false;
  const failing: Queue = {
    ...h.rt.queue,
    // The insert reaches the database, but its answer is lost: the worst case for counting.
    async enqueueMany(msgs) {
      if (msgs.length > 1) {
        await h.rt.queue.enqueueMany(msgs);
        landed = true;
        throw new Error('connection reset while waiting for the answer');
      }
      return h.rt.queue.enqueueMany(msgs);
    },
  };
  const { commits, repairs } = commitQueue(failing);
  const first = settle(commits.submit(request(1, 0)));
  const rest = [request(1, 1), request(2, 2), request(1, 3)].map((r) =>
    commits.submit(r).then(
      () => 'stored',
      (e: unknown) => e,
    ),
  );
  expect(await first).toBe('stored');
  const answers = await Promise.all(rest);
  expect(landed).toBe(true);
  for (const a of answers) expect(a).toBeInstanceOf(StoreUnavailable);
  // The batch is finished by the repair: what landed is withdrawn, the reservation given back.
  expect(await repairs.idle(10_000)).toBe(true);
  expect(await queuedFor(account.id)).toBe(1);
  expect((await showAccount(h.rt.ctx, admin, h.workspace.id, account.name)).counters.sent).toBe(1);
  expect((await readUsage(h.rt.ctx, h.workspace.id)).emailsThisMonth).toBe(101);
  expect(await openBatches()).toEqual([]);
  await setQuotaUsed(0);
});

describe('a relay that dies half way through a commit (its repairs never run): recovery makes the counters exact', () => {
  // The dead relay's ledger: a short lease, never renewed once the commit is over (the process is gone).
  let dead: Ledger;
  async function deadCommitQueue(overrides: { queue?: Queue; failCounters?: boolean; refusalLost?: boolean }) {
    const repairs = new RepairQueue(h.rt.log);
    await repairs.close(0); // a dead process repairs nothing
    dead = createLedger(h.rt.db.models, h.rt.queue, { owner: 'dead', leaseMs: 60_000 });
    // The counter writes (or the refusal) never reach the database: the process died before sending them.
    if (overrides.failCounters) dead.accept.count = () => Promise.reject(new Error('killed'));
    if (overrides.refusalLost) dead.accept.decide = () => Promise.reject(new Error('killed'));
    return createCommitQueue({ ...h.rt, ledger: dead }, { queue: overrides.queue, repairs, log: h.rt.log, storeTimeoutMs: 5_000 });
  }

  /** Another process's recovery, once the dead relay's leases have run out. */
  async function recover() {
    await dead.close();
    const later = () => new Date(Date.now() + 120_000);
    await createLedger(h.rt.db.models, h.rt.queue, { owner: 'recoverer', leaseMs: 60_000, clock: later }).recovery.runOnce(h.rt.log);
  }

  async function state() {
    const queued = await h.rt.queue.listMessages({ workspaceId: h.workspace.id, accountId: account.id, limit: 1000 });
    return {
      queuedEmails: queued.reduce((n, m) => n + m.recipients.length, 0),
      sent: (await showAccount(h.rt.ctx, admin, h.workspace.id, account.name)).counters.sent,
      quota: (await readUsage(h.rt.ctx, h.workspace.id)).emailsThisMonth,
    };
  }

  it('after the quota was reserved, before the messages were stored', async () => {
    await setQuotaUsed(50);
    const lost: Queue = { ...h.rt.queue, enqueueMany: () => Promise.reject(new Error('killed')) };
    const { commits } = await deadCommitQueue({ queue: lost });
    await Promise.all([request(2), request(1)].map((r) => settle(commits.submit(r))));
    const before = await state();
    expect(before.quota).toBeGreaterThan(50); // reserved for messages that do not exist
    await recover();
    expect(await state()).toEqual({ queuedEmails: 0, sent: 0, quota: 50 });
  });

  it('after the messages were stored, before they were counted', async () => {
    await setQuotaUsed(50);
    const { commits } = await deadCommitQueue({ failCounters: true });
    expect(await Promise.all([request(2, 1), request(1, 2), request(3, 3)].map((r) => settle(commits.submit(r))))).toEqual(['stored', 'stored', 'stored']);
    const before = await state();
    expect(before.sent).toBeLessThan(before.queuedEmails);
    await recover();
    expect(await state()).toEqual({ queuedEmails: 6, sent: 6, quota: 56 });
    // Finishing again counts nothing twice.
    await recover();
    expect(await state()).toEqual({ queuedEmails: 6, sent: 6, quota: 56 });
  });

  const lostAnswer = (): Queue => ({
    ...h.rt.queue,
    async enqueueMany(msgs) {
      await h.rt.queue.enqueueMany(msgs);
      throw new Error('killed');
    },
  });

  it('after the insert landed but its answer was lost, the 451 recorded: what landed is withdrawn, the quota given back', async () => {
    await setQuotaUsed(50);
    const { commits } = await deadCommitQueue({ queue: lostAnswer() });
    expect(await Promise.all([request(1, 1), request(2, 2)].map((r) => settle(commits.submit(r))))).toEqual(['RELAY_STORE_UNAVAILABLE', 'RELAY_STORE_UNAVAILABLE']);
    await recover();
    expect(await state()).toEqual({ queuedEmails: 0, sent: 0, quota: 50 });
  });

  it('after the insert landed but its answer was lost, the process dead before recording the 451: what landed is counted, and no client was told 451 (the one window left)', async () => {
    await setQuotaUsed(50);
    const { commits } = await deadCommitQueue({ queue: lostAnswer(), refusalLost: true });
    let answered = 0;
    for (const r of [request(1, 1), request(2, 2)]) void settle(commits.submit(r)).then(() => answered++);
    // The insert lands; neither its answer nor the refusal reaches the store, so the answers wait for the ledger.
    await vi.waitFor(async () => expect((await state()).queuedEmails).toBe(3), { timeout: 10_000 });
    await recover();
    expect(await state()).toEqual({ queuedEmails: 3, sent: 3, quota: 53 });
    // The process is dead: it says nothing (a live one would now answer 250, relay/commit-hang.test.ts).
    expect(answered).toBe(0);
    commits.answerHeld();
  });
});
