import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  deleteAccount,
  disableAccount,
  enableAccount,
  listAccounts,
  previewAccountDeletion,
  recordAcceptedMessage,
  recordDeliveryOutcome,
  reserveQuota,
  rotateAccountPassword,
  setWorkspacePlan,
  showAccount,
  usageSummary,
  listAudit,
  DomainError,
} from '../../src/domain/index.ts';
import { generatePassword, verifyPassword } from '../../src/domain/credentials.ts';
import { admin, member, newWorkspace, openTestDomain, responder, type TestDomain } from '../helpers/domain.ts';

let t: TestDomain;
beforeAll(async () => {
  t = await openTestDomain();
});
afterAll(async () => {
  await t?.close();
});

async function expectCode(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe(code);
  return err as DomainError;
}

describe('account slots', () => {
  it.each([
    ['10k', 5],
    ['20k', 10],
  ])('the %s plan allows %i accounts and refuses the next, saying how to free one', async (plan, slots) => {
    const ws = await newWorkspace(t, plan);
    for (let i = 1; i <= slots; i++) await createAccount(t.ctx, admin, ws.id, `app-${i}`);
    const err = await expectCode(createAccount(t.ctx, admin, ws.id, `app-${slots + 1}`), 'PLAN.NO_FREE_SLOT');
    expect(err.message).toContain(`All ${slots} account slots of the ${plan} plan`);
    expect(err.message).toMatch(/Delete an account/);
    expect(err.message).toMatch(/upgrade to the (20k|50k) plan/);
    expect((await listAccounts(t.ctx, admin, ws.id)).length).toBe(slots);
  });

  it('parallel creates cannot pass the slot limit', async () => {
    const ws = await newWorkspace(t, '10k');
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => createAccount(t.ctx, admin, ws.id, `par-${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(5);
    expect((await listAccounts(t.ctx, admin, ws.id)).length).toBe(5);
  });

  it('a deleted account frees its slot', async () => {
    const ws = await newWorkspace(t, '10k');
    for (let i = 1; i <= 5; i++) await createAccount(t.ctx, admin, ws.id, `s-${i}`);
    await deleteAccount(t.ctx, admin, ws.id, 's-1', { confirmName: 's-1' });
    await expect(createAccount(t.ctx, admin, ws.id, 's-6')).resolves.toBeTruthy();
  });

  it('a plan smaller than the accounts in use is refused', async () => {
    const ws = await newWorkspace(t, '20k');
    for (let i = 1; i <= 6; i++) await createAccount(t.ctx, admin, ws.id, `d-${i}`);
    const err = await expectCode(setWorkspacePlan(t.ctx, admin, ws.id, '10k'), 'PLAN.TOO_SMALL');
    expect(err.message).toContain('Delete 1 first');
    await expectCode(setWorkspacePlan(t.ctx, admin, ws.id, 'huge'), 'PLAN.NOT_FOUND');
    expect((await setWorkspacePlan(t.ctx, admin, ws.id, '50k')).planId).toBe('50k');
  });
});

describe('names', () => {
  it('are unique in a workspace ignoring case, and free in another workspace', async () => {
    const ws = await newWorkspace(t);
    await createAccount(t.ctx, admin, ws.id, 'Production-Transactional');
    await expectCode(createAccount(t.ctx, admin, ws.id, 'production-transactional'), 'ACCOUNT.NAME_TAKEN');
    await expectCode(createAccount(t.ctx, admin, ws.id, '  PRODUCTION-TRANSACTIONAL '), 'ACCOUNT.NAME_TAKEN');
    const other = await newWorkspace(t);
    await expect(createAccount(t.ctx, admin, other.id, 'production-transactional')).resolves.toBeTruthy();
    // A refused create does not use a slot.
    expect((await t.ctx.workspaces.findById(ws.id))!.slotsUsed).toBe(1);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['x'.repeat(65), 'too_long'],
    ['bad/name', 'characters'],
    ['-leading', 'characters'],
  ])('"%s" is refused (%s)', async (name, reason) => {
    const ws = await newWorkspace(t);
    const err = await expectCode(createAccount(t.ctx, admin, ws.id, name), 'ACCOUNT.NAME_INVALID');
    expect(err.details.reason).toBe(reason);
  });

  it('a near miss suggests the right name', async () => {
    const ws = await newWorkspace(t);
    await createAccount(t.ctx, admin, ws.id, 'staging-checkout');
    const err = await expectCode(showAccount(t.ctx, admin, ws.id, 'staging-chekout'), 'ACCOUNT.NOT_FOUND');
    expect(err.message).toContain('Did you mean "staging-checkout"?');
    expect((await showAccount(t.ctx, member, ws.id, 'STAGING-CHECKOUT')).name).toBe('staging-checkout');
  });
});

describe('credentials', () => {
  it('passwords are letters and digits only, every character of the alphabet used evenly', () => {
    // A "-" first was read as an option by swaks and curl; "_" and "-" break a double-click selection.
    const counts = new Map<string, number>();
    const passwords = Array.from({ length: 2000 }, generatePassword);
    for (const p of passwords) {
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      for (const c of p) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
    // 64,000 characters over 62 letters: about 1,032 each; a biased draw would leave some far off.
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(850);
    for (const n of counts.values()) expect(n).toBeLessThan(1220);
  });

  it('the password is returned once, has 128+ bits, and is stored only as a bcrypt hash', async () => {
    const ws = await newWorkspace(t);
    const issued = await createAccount(t.ctx, admin, ws.id, 'secret-check');
    expect(issued.password).toMatch(/^smtpd_[a-z2-9]{10}[A-Za-z0-9]{38}$/); // 32 random × log2(62) ≈ 190 bits (password-format.ts)
    expect(issued.username).toMatch(/^smtp-[a-z0-9]{10}$/);
    const raw = await t.db.connection.db!.collection('accounts').findOne({ username: issued.username });
    expect(raw!.passwordHash).toMatch(/^\$2[aby]\$04\$/);
    expect(await verifyPassword(issued.password, raw!.passwordHash as string)).toBe(true);
    // Search every collection for the plain password.
    for (const c of await t.db.connection.db!.listCollections().toArray()) {
      const docs = await t.db.connection.db!.collection(c.name).find().toArray();
      expect(JSON.stringify(docs)).not.toContain(issued.password);
    }
    // Neither the event nor the audit carries it.
    expect(JSON.stringify(t.events)).not.toContain(issued.password);
    // Reads never return the hash.
    expect(JSON.stringify(await showAccount(t.ctx, admin, ws.id, 'secret-check'))).not.toContain('$2');
  });

  it('usernames are unique forever: a deleted account keeps its username claimed', async () => {
    const ws = await newWorkspace(t);
    const a = await createAccount(t.ctx, admin, ws.id, 'temp');
    await deleteAccount(t.ctx, admin, ws.id, 'temp', { confirmName: 'temp' });
    expect(await t.ctx.accounts.claimUsername(a.username, ws.id, t.now())).toBe(false);
  });

  it('the username registry points at the account, so AUTH finds it by _id reads only', async () => {
    const ws = await newWorkspace(t);
    const a = await createAccount(t.ctx, admin, ws.id, 'lookup');
    const claim = await t.db.models.usernames.findById(a.username).lean();
    expect(claim!.accountId).toBe(a.account.id);
    expect((await t.ctx.accounts.findByUsernameWithSecret(a.username))!.id).toBe(a.account.id);
    expect(await t.ctx.accounts.findByUsernameWithSecret('smtp-neverissued')).toBeNull();
    await deleteAccount(t.ctx, admin, ws.id, 'lookup', { confirmName: 'lookup' });
    expect(await t.ctx.accounts.findByUsernameWithSecret(a.username)).toBeNull();
  });

  it('rotate issues a new password, bumps the credential version, and the old one no longer matches', async () => {
    const ws = await newWorkspace(t);
    const first = await createAccount(t.ctx, admin, ws.id, 'rotating');
    const second = await rotateAccountPassword(t.ctx, admin, ws.id, 'rotating');
    expect(second.password).not.toBe(first.password);
    expect(second.username).toBe(first.username);
    expect(second.account.credentialVersion).toBe(first.account.credentialVersion + 1);
    const withSecret = await t.ctx.accounts.findByUsernameWithSecret(first.username);
    expect(await verifyPassword(first.password, withSecret!.passwordHash)).toBe(false);
    expect(await verifyPassword(second.password, withSecret!.passwordHash)).toBe(true);
  });
});

describe('disable and enable', () => {
  it('keep the same credentials and statistics', async () => {
    const ws = await newWorkspace(t);
    const issued = await createAccount(t.ctx, admin, ws.id, 'billing');
    await recordAcceptedMessage(t.ctx, issued.account, 3);
    await recordDeliveryOutcome(t.ctx, issued.account, { delivered: 2, bounced: 1 });
    const before = await t.ctx.accounts.findByUsernameWithSecret(issued.username);

    const disabled = await disableAccount(t.ctx, responder, ws.id, 'billing', 'suspected compromise', 'leaked in a CI log');
    expect(disabled.status).toBe('disabled');
    expect(disabled.disabled).toMatchObject({ reason: 'suspected_compromise', note: 'leaked in a CI log', by: 'responder (slack)' });
    await expectCode(disableAccount(t.ctx, admin, ws.id, 'billing', 'other'), 'ACCOUNT.ALREADY_DISABLED');

    const enabled = await enableAccount(t.ctx, admin, ws.id, 'billing');
    expect(enabled.status).toBe('active');
    expect(enabled.disabled).toBeUndefined();
    const after = await t.ctx.accounts.findByUsernameWithSecret(issued.username);
    expect(after!.passwordHash).toBe(before!.passwordHash);
    expect(after!.counters).toEqual({ sent: 3, delivered: 2, bounced: 1, deferred: 0, failed: 0 });
    expect(after!.credentialVersion).toBe(before!.credentialVersion + 2);
    const view = await showAccount(t.ctx, admin, ws.id, 'billing');
    expect(view.deliveryRate).toBeCloseTo(2 / 3);
    expect(view.sentThisMonth).toBe(3);
  });

  it('an unknown reason is refused with the list of reasons', async () => {
    const ws = await newWorkspace(t);
    await createAccount(t.ctx, admin, ws.id, 'r');
    const err = await expectCode(disableAccount(t.ctx, admin, ws.id, 'r', 'because'), 'ACCOUNT.REASON_INVALID');
    expect(err.message).toContain('maintenance');
  });
});

describe('delete', () => {
  it('needs the exact name typed, and is refused while mail is queued unless forced', async () => {
    const ws = await newWorkspace(t);
    const issued = await createAccount(t.ctx, admin, ws.id, 'Newsletter');
    await expectCode(deleteAccount(t.ctx, admin, ws.id, 'newsletter', { confirmName: 'newsletter' }), 'ACCOUNT.CONFIRMATION_MISMATCH');
    await expectCode(deleteAccount(t.ctx, admin, ws.id, 'newsletter', { confirmName: '' }), 'ACCOUNT.CONFIRMATION_MISMATCH');

    await t.db.models.queuedMessages.create({
      workspaceId: ws.id,
      accountId: issued.account.id,
      username: issued.username,
      envelope: { from: 'app@example.com', to: ['user@example.org'] },
      recipients: [{ address: 'user@example.org', domain: 'example.org' }],
      size: 100,
      chunks: 1,
      nextAttemptAt: t.now(),
      createdAt: t.now(),
    });
    await recordAcceptedMessage(t.ctx, issued.account, 1, t.now());
    const preview = await previewAccountDeletion(t.ctx, admin, ws.id, 'newsletter');
    expect(preview.queuedMessages).toBe(1);
    expect(preview.usedRecently).toBe(true);
    expect(preview.warnings.join(' ')).toMatch(/within the last 60 days/);
    expect(preview.warnings.join(' ')).toMatch(/1 message\(s\) are still queued/);

    const err = await expectCode(deleteAccount(t.ctx, admin, ws.id, 'newsletter', { confirmName: 'Newsletter' }), 'ACCOUNT.HAS_QUEUED_MAIL');
    expect(err.details.queued).toBe(1);
    await deleteAccount(t.ctx, admin, ws.id, 'newsletter', { confirmName: 'Newsletter', force: true });
    await expectCode(showAccount(t.ctx, admin, ws.id, 'Newsletter'), 'ACCOUNT.NOT_FOUND');
  });

  it("does not give back this month's emails", async () => {
    const ws = await newWorkspace(t);
    const issued = await createAccount(t.ctx, admin, ws.id, 'bulk');
    const r = await reserveQuota(t.ctx, ws.id, ws.planId, 40);
    expect(r.month).toBe('2026-11');
    await recordAcceptedMessage(t.ctx, issued.account, 40);
    expect((await usageSummary(t.ctx, member, ws.id)).emailsThisMonth).toBe(40);
    await deleteAccount(t.ctx, admin, ws.id, 'bulk', { confirmName: 'bulk' });
    const u = await usageSummary(t.ctx, member, ws.id);
    expect(u.emailsThisMonth).toBe(40);
    expect(u.slotsUsed).toBe(0);
  });
});

describe('quota', () => {
  it('reservations stop exactly at the quota, also in parallel, and the refusal names it', async () => {
    const ws = await newWorkspace(t, '10k');
    await reserveQuota(t.ctx, ws.id, '10k', 9_990);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => reserveQuota(t.ctx, ws.id, '10k', 1)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(10);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DomainError);
    expect(refused.reason.code).toBe('QUOTA.EXCEEDED');
    expect(refused.reason.message).toContain('10,000 emails');
    expect((await usageSummary(t.ctx, member, ws.id)).emailsThisMonth).toBe(10_000);
  });

  it('a new month starts from zero', async () => {
    const ws = await newWorkspace(t, '10k');
    await reserveQuota(t.ctx, ws.id, '10k', 10_000);
    await expectCode(reserveQuota(t.ctx, ws.id, '10k', 1), 'QUOTA.EXCEEDED');
    t.setNow('2026-12-01T00:00:01Z');
    try {
      await expect(reserveQuota(t.ctx, ws.id, '10k', 1)).resolves.toBeTruthy();
    } finally {
      t.setNow('2026-11-15T12:00:00Z');
    }
  });
});

describe('lists', () => {
  it('show sent this month, delivery rate and last used, and filter idle accounts sorted by last use', async () => {
    const ws = await newWorkspace(t, '20k');
    t.setNow('2026-06-01T00:00:00Z');
    const old = await createAccount(t.ctx, admin, ws.id, 'old-never-used');
    const used = await createAccount(t.ctx, admin, ws.id, 'used-long-ago');
    await recordAcceptedMessage(t.ctx, used.account, 2, new Date('2026-07-01T00:00:00Z'));
    t.setNow('2026-11-15T12:00:00Z');
    const fresh = await createAccount(t.ctx, admin, ws.id, 'fresh');
    await recordAcceptedMessage(t.ctx, fresh.account, 5);
    await recordDeliveryOutcome(t.ctx, fresh.account, { delivered: 4, failed: 1 });

    const all = await listAccounts(t.ctx, member, ws.id);
    expect(all.map((a) => a.name)).toEqual(['fresh', 'old-never-used', 'used-long-ago']);
    const f = all[0]!;
    expect(f.sentThisMonth).toBe(5);
    expect(f.counters.sent).toBe(5);
    expect(f.deliveryRate).toBeCloseTo(0.8);
    expect(all[1]!.deliveryRate).toBeNull();

    const idle = await listAccounts(t.ctx, member, ws.id, { idleDays: 60 });
    expect(idle.map((a) => a.name)).toEqual(['old-never-used', 'used-long-ago']);
    expect(idle[1]!.lastUsedAt?.toISOString()).toBe('2026-07-01T00:00:00.000Z');
    expect(old.account.lastUsedAt).toBeUndefined();
  });
});

describe('roles and audit', () => {
  it('members read, responders also disable, admins do everything; refusals say who may', async () => {
    const ws = await newWorkspace(t);
    await createAccount(t.ctx, admin, ws.id, 'guarded');
    const err = await expectCode(createAccount(t.ctx, member, ws.id, 'x'), 'PERMISSION.DENIED');
    expect(err.message).toBe('Only admins may create accounts.');
    await expectCode(rotateAccountPassword(t.ctx, responder, ws.id, 'guarded'), 'PERMISSION.DENIED');
    await expectCode(deleteAccount(t.ctx, responder, ws.id, 'guarded', { confirmName: 'guarded' }), 'PERMISSION.DENIED');
    await expectCode(disableAccount(t.ctx, member, ws.id, 'guarded', 'other'), 'PERMISSION.DENIED');
    await expect(listAccounts(t.ctx, member, ws.id)).resolves.toHaveLength(1);
    await expect(disableAccount(t.ctx, responder, ws.id, 'guarded', 'maintenance')).resolves.toBeTruthy();
    await expectCode(enableAccount(t.ctx, responder, ws.id, 'guarded'), 'PERMISSION.DENIED');
  });

  it('every change is audited with actor and source, newest first', async () => {
    const ws = await newWorkspace(t, '10k');
    await createAccount(t.ctx, admin, ws.id, 'audited');
    await rotateAccountPassword(t.ctx, admin, ws.id, 'audited');
    await disableAccount(t.ctx, responder, ws.id, 'audited', 'maintenance');
    await enableAccount(t.ctx, admin, ws.id, 'audited');
    await setWorkspacePlan(t.ctx, admin, ws.id, '20k');
    await deleteAccount(t.ctx, admin, ws.id, 'audited', { confirmName: 'audited' });
    const entries = await listAudit(t.ctx, admin, ws.id);
    expect(entries.map((e) => e.action)).toEqual([
      'account.deleted',
      'plan.changed',
      'account.enabled',
      'account.disabled',
      'account.rotated',
      'account.created',
      'workspace.created',
    ]);
    const disabled = entries.find((e) => e.action === 'account.disabled')!;
    expect(disabled.actor).toEqual({ source: 'slack', id: 'U_RESPONDER', name: 'responder' });
    expect(disabled.details).toEqual({ reason: 'maintenance' });
    expect(disabled.accountName).toBe('audited');
    expect(entries.find((e) => e.action === 'plan.changed')!.details).toEqual({ from: '10k', to: '20k' });
    await expectCode(listAudit(t.ctx, member, ws.id), 'PERMISSION.DENIED');
  });
});
