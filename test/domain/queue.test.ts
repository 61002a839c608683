// The queue use cases: who may look and act, what retry and purge change, and that purge is counted and
// audited, and never touches a message a worker is delivering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, listAudit, listQueue, purgeQueuedMail, retryQueuedMail, showAccount, showQueuedMessage, type Workspace } from '../../src/domain/index.ts';
import { createQueue } from '../../src/store/queue/index.ts';
import { enqueueMessage } from '../helpers/queue.ts';
import { admin, member, newWorkspace, openTestDomain, responder, type TestDomain } from '../helpers/domain.ts';

let t: TestDomain;
let ws: Workspace;
let accountId: string;

beforeAll(async () => {
  t = await openTestDomain();
  ws = await newWorkspace(t);
  accountId = (await createAccount(t.ctx, admin, ws.id, 'billing-mails')).account.id;
});
afterAll(async () => {
  await t?.close();
});

async function enqueue(to: string[]): Promise<string> {
  return enqueueMessage(t.db.models, {
    workspaceId: ws.id,
    accountId,
    username: 'smtp-x',
    from: 'billing@app.test',
    to,
    body: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    at: t.now(),
  });
}

/** As a worker leaves a message after a temporary failure: recipients deferred for an hour. */
async function defer(id: string) {
  const due = new Date(t.now().getTime() + 3_600_000);
  const doc = await t.db.models.queuedMessages.findById(id).lean();
  await t.db.models.queuedMessages.updateOne(
    { _id: id },
    { $set: { nextAttemptAt: due, recipients: doc!.recipients.map((r) => ({ ...r, attempts: 1, nextAttemptAt: due, lastError: '451 4.3.2 try later' })) } },
  );
}

describe('the outbound queue', () => {
  it('lets admins and responders look into it, and only admins act on it', async () => {
    const id = await enqueue(['a@x.test']);
    expect((await listQueue(t.ctx, responder, ws.id)).map((m) => m.id)).toContain(id);
    expect((await showQueuedMessage(t.ctx, responder, ws.id, id)).accountName).toBe('billing-mails');
    await expect(listQueue(t.ctx, member, ws.id)).rejects.toMatchObject({ code: 'PERMISSION.DENIED' });
    await expect(retryQueuedMail(t.ctx, responder, ws.id, 'billing-mails')).rejects.toMatchObject({ code: 'PERMISSION.DENIED', message: 'Only admins may retry queued mail.' });
    await expect(purgeQueuedMail(t.ctx, responder, ws.id, 'billing-mails', { confirmName: 'billing-mails' })).rejects.toMatchObject({ code: 'PERMISSION.DENIED' });
    await expect(showQueuedMessage(t.ctx, admin, ws.id, 'not-an-id')).rejects.toMatchObject({ code: 'QUEUE.NOT_FOUND' });
    await expect(listQueue(t.ctx, admin, ws.id, { accountName: 'biling-mails' })).rejects.toMatchObject({
      code: 'ACCOUNT.NOT_FOUND',
      message: expect.stringContaining('Did you mean "billing-mails"'),
    });
  });

  it('retry makes deferred recipients due now and is audited', async () => {
    const id = await enqueue(['late@x.test', 'later@x.test']);
    await defer(id);
    const change = await retryQueuedMail(t.ctx, admin, ws.id, 'billing-mails');
    expect(change).toMatchObject({ messages: 1, recipients: 2, inFlight: 0 });
    const m = await showQueuedMessage(t.ctx, admin, ws.id, id);
    expect(m.nextAttemptAt.getTime()).toBe(t.now().getTime());
    expect(m.recipients.every((r) => r.nextAttemptAt?.getTime() === t.now().getTime() && r.attempts === 1)).toBe(true);
    const [entry] = await listAudit(t.ctx, admin, ws.id, { accountName: 'billing-mails', limit: 1 });
    expect(entry).toMatchObject({ action: 'queue.retried', actor: { id: 'tester' }, details: { recipients: 2 } });
  });

  it('purge fails every queued recipient, counts them as failed, audits it, and leaves messages in delivery alone', async () => {
    // One message held by a worker right now.
    const held = await enqueue(['busy@x.test']);
    await t.db.models.queuedMessages.updateMany({ _id: { $ne: held }, accountId }, { $set: { nextAttemptAt: new Date(t.now().getTime() + 60_000) } });
    const lease = await createQueue(t.db.models).claim(held, { owner: 'worker-1', now: t.now(), leaseMs: 60_000 });
    expect(lease?.id).toBe(held);
    const queuedBefore = (await listQueue(t.ctx, admin, ws.id, { state: 'queued' })).filter((m) => m.id !== held);
    const recipientsBefore = queuedBefore.flatMap((m) => m.recipients.filter((r) => r.status === 'queued')).length;

    await expect(purgeQueuedMail(t.ctx, admin, ws.id, 'billing-mails', { confirmName: 'Billing-Mails' })).rejects.toMatchObject({ code: 'ACCOUNT.CONFIRMATION_MISMATCH' });
    const change = await purgeQueuedMail(t.ctx, admin, ws.id, 'billing-mails', { confirmName: 'billing-mails' });
    expect(change).toEqual({ messages: queuedBefore.length, recipients: recipientsBefore, noticeRecipients: 0, inFlight: 1 });

    const remaining = await listQueue(t.ctx, admin, ws.id, { state: 'queued' });
    expect(remaining.map((m) => m.id)).toEqual([held]);
    const purged = await showQueuedMessage(t.ctx, admin, ws.id, queuedBefore[0]!.id);
    expect(purged.state).toBe('done');
    expect(purged.recipients.every((r) => r.status === 'failed' && r.lastError === 'purged by tester (cli)')).toBe(true);
    const account = await showAccount(t.ctx, admin, ws.id, 'billing-mails');
    expect(account.counters.failed).toBe(recipientsBefore);
    expect(account.queuedMessages).toBe(1);
    const [entry] = await listAudit(t.ctx, admin, ws.id, { limit: 1 });
    expect(entry).toMatchObject({ action: 'queue.purged', accountName: 'billing-mails', details: { messages: queuedBefore.length, inFlight: 1 } });
    expect(t.events.at(-1)).toMatchObject({ type: 'queue.purged', account: { name: 'billing-mails' } });
  });
});
