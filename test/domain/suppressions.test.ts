// Which permanent refusals put an address on the suppression list, and the list's use cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSuppression, isMailboxFailure, listSuppressions, removeSuppression, suppressHardBounces } from '../../src/domain/index.ts';
import { admin, member, newWorkspace, openTestDomain, responder, type TestDomain } from '../helpers/domain.ts';

describe('isMailboxFailure', () => {
  it.each([
    ['550 5.1.1 user unknown', { replyCode: 550, enhancedStatus: '5.1.1', stage: 'RCPT TO' }, true],
    ['5.1.10 null MX (RFC 7505) after DATA', { replyCode: 556, enhancedStatus: '5.1.10', stage: 'DATA' }, true],
    ['550 to RCPT without an enhanced code', { replyCode: 550, stage: 'RCPT TO' }, true],
    ['551 to RCPT without an enhanced code', { replyCode: 551, stage: 'RCPT TO' }, true],
    ['553 to RCPT without an enhanced code', { replyCode: 553, stage: 'RCPT TO' }, true],
    ['550 after DATA without an enhanced code (content)', { replyCode: 550, stage: 'DATA' }, false],
    ['550 5.7.1 policy', { replyCode: 550, enhancedStatus: '5.7.1', stage: 'RCPT TO' }, false],
    ['552 5.2.2 mailbox full', { replyCode: 552, enhancedStatus: '5.2.2', stage: 'RCPT TO' }, false],
    ['451 4.1.1 (temporary)', { replyCode: 451, enhancedStatus: '4.1.1', stage: 'RCPT TO' }, false],
    ['no answer from a server (our own checks)', { enhancedStatus: '5.1.3' }, false],
  ])('%s -> %s', (_what, answer, expected) => {
    expect(isMailboxFailure(answer)).toBe(expected);
  });
});

describe('the suppression list', () => {
  let t: TestDomain;
  beforeAll(async () => {
    t = await openTestDomain();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records hard bounces only, one entry per address ignoring case, and audits manual changes', async () => {
    const ws = await newWorkspace(t);
    const added = await suppressHardBounces(t.ctx, ws.id, [
      { address: 'Gone@Example.test', reply: '550 5.1.1 gone', answer: { replyCode: 550, enhancedStatus: '5.1.1' } },
      { address: 'busy@example.test', reply: '452 4.2.2 full', answer: { replyCode: 452, enhancedStatus: '4.2.2' } },
      { address: 'gone@example.test', reply: '550 5.1.1 gone again', answer: { replyCode: 550, enhancedStatus: '5.1.1' } },
    ]);
    expect(added).toEqual(['Gone@Example.test', 'gone@example.test']);
    const list = await listSuppressions(t.ctx, responder, ws.id);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ source: 'bounce', reason: '550 5.1.1 gone again' });
    await expect(listSuppressions(t.ctx, member, ws.id)).rejects.toMatchObject({ code: 'PERMISSION.DENIED' });
    await expect(addSuppression(t.ctx, responder, ws.id, 'x@example.test')).rejects.toMatchObject({ code: 'PERMISSION.DENIED' });
    await expect(addSuppression(t.ctx, admin, ws.id, 'not-an-address')).rejects.toMatchObject({ code: 'INPUT.INVALID' });
    const v0 = await t.ctx.suppressions.version(ws.id);
    await addSuppression(t.ctx, admin, ws.id, 'manual@example.test', 'unsubscribed by phone');
    await removeSuppression(t.ctx, admin, ws.id, 'GONE@example.test');
    expect(await t.ctx.suppressions.version(ws.id)).toBe(v0 + 2);
    await expect(removeSuppression(t.ctx, admin, ws.id, 'gone@example.test')).rejects.toMatchObject({ code: 'SUPPRESSION.NOT_FOUND' });
    const audit = await t.ctx.audit.list(ws.id, { limit: 5 });
    expect(audit.map((a) => a.action)).toEqual(['suppression.removed', 'suppression.added', 'workspace.created']);
    // Another workspace's list is its own.
    const other = await newWorkspace(t);
    expect(await listSuppressions(t.ctx, admin, other.id)).toEqual([]);
  });
});
