// Signed admin webhooks over real HTTP on loopback, against a real database.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, showAccount } from '../../src/domain/index.ts';
import { verifyPassword } from '../../src/domain/credentials.ts';
import { INTEGRATIONS, openHttpHarness, operator, postAdminWebhook, rawRequest, seedWorkspace, type HttpHarness } from '../helpers/http.ts';

let h: HttpHarness;
let url: string;
beforeAll(async () => {
  h = await openHttpHarness({ HTTP_BODY_LIMIT: '4kb' });
  url = h.server.url;
});
afterAll(async () => {
  await h?.close();
});

async function accountNamed(workspaceId: string, name: string) {
  return showAccount(h.rt.ctx, operator, workspaceId, name);
}

describe('actions', () => {
  it('disables an account by username, with the reason and the integration in the audit', async () => {
    const { workspace, accounts } = await seedWorkspace(h.rt, ['prod-transactional']);
    const { username } = accounts['prod-transactional']!;

    const res = await postAdminWebhook(url, {
      body: { action: 'disable', username, reason: 'suspected_compromise', note: 'INC-4711: credentials in a public repo' },
      deliveryId: 'inc-4711-1',
    });

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      ok: true,
      action: 'disable',
      deliveryId: 'inc-4711-1',
      integration: 'pagerduty',
      workspace: { id: workspace.id, name: workspace.name },
      account: { name: 'prod-transactional', username, status: 'disabled', disabled: { reason: 'suspected_compromise', by: 'pagerduty (webhook)' } },
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect((await accountNamed(workspace.id, 'prod-transactional')).status).toBe('disabled');
    const [entry] = await listAudit(h.rt.ctx, operator, workspace.id, { limit: 1 });
    expect(entry).toMatchObject({
      action: 'account.disabled',
      actor: { source: 'webhook', id: 'pagerduty' },
      username,
      details: { reason: 'suspected_compromise', note: 'INC-4711: credentials in a public repo' },
    });
  });

  it('disables and enables an account by workspace and name, signed by another integration', async () => {
    const { workspace } = await seedWorkspace(h.rt, ['staging-alerts']);
    const target = { workspace: workspace.name, name: 'STAGING-alerts' }; // names match ignoring case

    const off = await postAdminWebhook(url, { body: { action: 'disable', ...target, reason: 'maintenance' }, secret: INTEGRATIONS.soar, integration: 'soar' });
    expect(off.status).toBe(200);
    expect(off.json.account.status).toBe('disabled');

    const on = await postAdminWebhook(url, {
      body: { action: 'enable', ...target, reason: 'false positive, confirmed with the app owner' },
      secret: INTEGRATIONS.soar,
      integration: 'soar',
    });
    expect(on.status).toBe(200);
    expect(on.json).toMatchObject({ ok: true, action: 'enable', integration: 'soar', account: { name: 'staging-alerts', status: 'active' } });
    expect(on.json.account.disabled).toBeUndefined();
    expect((await accountNamed(workspace.id, 'staging-alerts')).status).toBe('active');
    const [entry] = await listAudit(h.rt.ctx, operator, workspace.id, { limit: 1 });
    expect(entry).toMatchObject({ action: 'account.enabled', actor: { source: 'webhook', id: 'soar' }, details: { note: 'false positive, confirmed with the app owner' } });
  });

  it('finds the integration by trying every secret when the request does not name it', async () => {
    const { accounts } = await seedWorkspace(h.rt, ['ci-notifications']);
    const res = await postAdminWebhook(url, {
      body: { action: 'disable', username: accounts['ci-notifications']!.username, reason: 'other' },
      secret: INTEGRATIONS.soar,
      integration: null,
    });
    expect(res.status).toBe(200);
    expect(res.json.integration).toBe('soar');
  });

  it('rotates by username and by workspace and name: the new password is in the answer once and works; the old one does not', async () => {
    const { workspace, accounts } = await seedWorkspace(h.rt, ['billing-mailer']);
    const old = accounts['billing-mailer']!;

    const byUsername = await postAdminWebhook(url, { body: { action: 'rotate', username: old.username, reason: 'yearly rotation' } });
    expect(byUsername.status).toBe(200);
    expect(byUsername.headers['cache-control']).toBe('no-store');
    expect(byUsername.json).toMatchObject({ ok: true, action: 'rotate', username: old.username, account: { status: 'active' } });
    const first = byUsername.json.password as string;
    expect(first).toMatch(/^smtpd_[A-Za-z0-9]{48}$/);
    expect(first).not.toBe(old.password);

    const byName = await postAdminWebhook(url, { body: { action: 'rotate', workspace: workspace.name, name: 'billing-mailer' } });
    expect(byName.status).toBe(200);
    const second = byName.json.password as string;
    expect(second).not.toBe(first);

    const stored = await h.rt.ctx.accounts.findByUsernameWithSecret(old.username);
    expect(await verifyPassword(second, stored!.passwordHash)).toBe(true);
    expect(await verifyPassword(first, stored!.passwordHash)).toBe(false);
    expect(await verifyPassword(old.password, stored!.passwordHash)).toBe(false);

    // Neither the audit nor the delivery record keeps a password.
    const audit = await listAudit(h.rt.ctx, operator, workspace.id, { accountName: 'billing-mailer', limit: 10 });
    expect(audit.filter((e) => e.action === 'account.rotated')).toHaveLength(2);
    const persisted = JSON.stringify([audit, await h.rt.db.models.webhookDeliveries.find().lean()]);
    expect(persisted).not.toContain(first);
    expect(persisted).not.toContain(second);
  });
});

describe('refusals', () => {
  it('answers 401 WEBHOOK.SIGNATURE_INVALID to a wrong secret, a tampered body and an unknown integration, and changes nothing', async () => {
    const { workspace, accounts } = await seedWorkspace(h.rt, ['marketing']);
    const body = { action: 'disable', username: accounts.marketing!.username, reason: 'other' };

    const wrongSecret = await postAdminWebhook(url, { body, secret: 'not-the-secret' });
    const unknownIntegration = await postAdminWebhook(url, { body, integration: 'nobody' });
    const otherIntegrationsSecret = await postAdminWebhook(url, { body, secret: INTEGRATIONS.soar, integration: 'pagerduty' });
    for (const res of [wrongSecret, unknownIntegration, otherIntegrationsSecret]) {
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('WEBHOOK.SIGNATURE_INVALID');
    }

    // Signed for one body, sent with another.
    const ts = Math.floor(Date.now() / 1000);
    const tampered = await rawRequest(url, {
      method: 'POST',
      path: '/webhooks/admin',
      headers: {
        'content-type': 'application/json',
        'x-smtpdesk-timestamp': ts,
        'x-smtpdesk-signature': (await import('../../src/shared/signing.ts')).signatureHeader(INTEGRATIONS.pagerduty, ts, JSON.stringify({ action: 'enable', username: 'x' })),
        'x-smtpdesk-delivery': 'tampered-1',
      },
      body: Buffer.from(JSON.stringify(body)),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error.code).toBe('WEBHOOK.SIGNATURE_INVALID');

    const unsigned = await rawRequest(url, { method: 'POST', path: '/webhooks/admin', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error.code).toBe('WEBHOOK.SIGNATURE_MISSING');

    expect((await accountNamed(workspace.id, 'marketing')).status).toBe('active');
  });

  it('answers 401 WEBHOOK.TIMESTAMP_STALE to a correctly signed request outside the five-minute window', async () => {
    const { workspace, accounts } = await seedWorkspace(h.rt, ['reports']);
    const body = { action: 'disable', username: accounts.reports!.username, reason: 'other' };
    const now = Math.floor(Date.now() / 1000);

    const old = await postAdminWebhook(url, { body, timestamp: now - 301 });
    expect(old.status).toBe(401);
    expect(old.json.error).toMatchObject({ code: 'WEBHOOK.TIMESTAMP_STALE', toleranceSeconds: 300 });
    const future = await postAdminWebhook(url, { body, timestamp: now + 400 });
    expect(future.json.error.code).toBe('WEBHOOK.TIMESTAMP_STALE');
    const garbage = await postAdminWebhook(url, { body, headers: { 'x-smtpdesk-timestamp': 'yesterday' } });
    expect(garbage.status).toBe(401);
    expect(garbage.json.error.code).toBe('WEBHOOK.TIMESTAMP_INVALID');
    expect((await accountNamed(workspace.id, 'reports')).status).toBe('active');

    const withinWindow = await postAdminWebhook(url, { body, timestamp: now - 240 });
    expect(withinWindow.status).toBe(200);
  });

  it('applies a delivery id once: the replay gets 409 WEBHOOK.REPLAYED, and the same signed request under a new id too', async () => {
    const { workspace, accounts } = await seedWorkspace(h.rt, ['press-releases']);
    const username = accounts['press-releases']!.username;
    const deliveryId = `replay-${randomBytes(4).toString('hex')}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const call = { body: { action: 'rotate', username }, deliveryId, timestamp };

    const first = await postAdminWebhook(url, call);
    expect(first.status).toBe(200);
    const password = first.json.password;

    const replay = await postAdminWebhook(url, call);
    expect(replay.status).toBe(409);
    expect(replay.json.error).toMatchObject({ code: 'WEBHOOK.REPLAYED', deliveryId, originalStatus: 200 });
    expect(replay.json.password).toBeUndefined();
    expect(JSON.stringify(replay.json)).not.toContain(password);

    // An attacker who captured the request cannot re-send it under a fresh delivery id.
    const renamed = await postAdminWebhook(url, { ...call, deliveryId: `${deliveryId}-again` });
    expect(renamed.status).toBe(409);
    expect(renamed.json.error.code).toBe('WEBHOOK.REPLAYED');

    // The same delivery id with a new signature (a sender's retry) is a replay as well.
    const resent = await postAdminWebhook(url, { ...call, timestamp: timestamp - 1 });
    expect(resent.status).toBe(409);

    const rotations = (await listAudit(h.rt.ctx, operator, workspace.id, { limit: 20 })).filter((e) => e.action === 'account.rotated');
    expect(rotations).toHaveLength(1);
  });

  it('answers 409 WEBHOOK.REPLAYED to concurrent copies of one delivery: exactly one is applied', async () => {
    const { accounts } = await seedWorkspace(h.rt, ['race']);
    const call = { body: { action: 'rotate', username: accounts.race!.username }, deliveryId: `race-${randomBytes(4).toString('hex')}`, timestamp: Math.floor(Date.now() / 1000) };
    const answers = await Promise.all([1, 2, 3].map(() => postAdminWebhook(url, call)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
  });

  it('answers 400 WEBHOOK.MALFORMED_JSON to a body that is not JSON', async () => {
    const res = await postAdminWebhook(url, { body: null, raw: '{"action": "disable", "username": ' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('WEBHOOK.MALFORMED_JSON');
  });

  it('answers 422 to an unknown action, a missing account reference, a missing or unknown reason', async () => {
    const { accounts } = await seedWorkspace(h.rt, ['audit-trail']);
    const username = accounts['audit-trail']!.username;

    const unknown = await postAdminWebhook(url, { body: { action: 'delete', username } });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error).toMatchObject({ code: 'WEBHOOK.UNKNOWN_ACTION', actions: ['disable', 'enable', 'rotate'] });

    const noTarget = await postAdminWebhook(url, { body: { action: 'enable', name: 'audit-trail' } });
    expect(noTarget.status).toBe(422);
    expect(noTarget.json.error.code).toBe('WEBHOOK.INVALID_REQUEST');

    const noReason = await postAdminWebhook(url, { body: { action: 'disable', username } });
    expect(noReason.status).toBe(422);
    expect(noReason.json.error).toMatchObject({ code: 'WEBHOOK.INVALID_REQUEST', fields: [{ field: 'reason', problem: 'required' }] });

    const badReason = await postAdminWebhook(url, { body: { action: 'disable', username, reason: 'because' } });
    expect(badReason.status).toBe(422);
    expect(badReason.json.error.code).toBe('ACCOUNT.REASON_INVALID');

    const wrongType = await postAdminWebhook(url, { body: { action: 'disable', username: 42, reason: 'other' } });
    expect(wrongType.status).toBe(422);
    expect(wrongType.json.error.fields[0].field).toBe('username');

    const notAnObject = await postAdminWebhook(url, { body: ['disable'] });
    expect(notAnObject.status).toBe(422);
  });

  it('answers 404 to an unknown username, workspace or account name', async () => {
    const { workspace } = await seedWorkspace(h.rt, ['newsletter']);
    const noUser = await postAdminWebhook(url, { body: { action: 'disable', username: 'smtp-doesnotexist', reason: 'other' } });
    expect(noUser.status).toBe(404);
    expect(noUser.json.error.code).toBe('ACCOUNT.NOT_FOUND');

    const noWorkspace = await postAdminWebhook(url, { body: { action: 'enable', workspace: 'no-such-workspace', name: 'newsletter' } });
    expect(noWorkspace.status).toBe(404);
    expect(noWorkspace.json.error.code).toBe('WORKSPACE.NOT_FOUND');

    const noName = await postAdminWebhook(url, { body: { action: 'rotate', workspace: workspace.name, name: 'newsleter' } });
    expect(noName.status).toBe(404);
    expect(noName.json.error).toMatchObject({ code: 'ACCOUNT.NOT_FOUND', suggestion: 'newsletter' });
  });

  it('answers 409 ACCOUNT.ALREADY_DISABLED to disabling a disabled account', async () => {
    const { accounts } = await seedWorkspace(h.rt, ['twice']);
    const body = { action: 'disable', username: accounts.twice!.username, reason: 'other' };
    const now = Math.floor(Date.now() / 1000);
    expect((await postAdminWebhook(url, { body, timestamp: now })).status).toBe(200);
    // A second, separately signed delivery (a byte-identical signed request would be a replay).
    const again = await postAdminWebhook(url, { body, timestamp: now - 1 });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ACCOUNT.ALREADY_DISABLED');
  });

  it('answers 413 HTTP.BODY_TOO_LARGE past HTTP_BODY_LIMIT, declared or streamed, and keeps serving', async () => {
    const big = Buffer.alloc(64 * 1024, 'a');
    const declared = await rawRequest(url, { method: 'POST', path: '/webhooks/admin', headers: { 'content-type': 'application/json', 'content-length': big.length }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toMatchObject({ code: 'HTTP.BODY_TOO_LARGE', limit: 4096 });

    const streamed = await rawRequest(url, {
      method: 'POST',
      path: '/webhooks/admin',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: big,
      chunked: true,
    });
    expect(streamed.status).toBe(413);
    expect(streamed.json.error.code).toBe('HTTP.BODY_TOO_LARGE');

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers JSON 404 to an unknown path and 405 (with Allow) to a wrong method', async () => {
    const missing = await rawRequest(url, { method: 'GET', path: '/nope' });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('HTTP.NOT_FOUND');

    const wrongMethod = await rawRequest(url, { method: 'GET', path: '/webhooks/admin' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(wrongMethod.json.error.code).toBe('HTTP.METHOD_NOT_ALLOWED');

    const postHealth = await rawRequest(url, { method: 'POST', path: '/healthz' });
    expect(postHealth.status).toBe(405);
  });

  it('counts every inbound call by result in smtpdesk_webhook_calls_total', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const count = (result: string) =>
      Number(new RegExp(`^smtpdesk_webhook_calls_total\\{direction="inbound",result="${result.replace('.', '\\.')}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('ok')).toBeGreaterThanOrEqual(10);
    expect(count('WEBHOOK.SIGNATURE_INVALID')).toBeGreaterThanOrEqual(4);
    expect(count('WEBHOOK.REPLAYED')).toBeGreaterThanOrEqual(3);
    expect(count('HTTP.BODY_TOO_LARGE')).toBe(2);
  });
});

describe('timeouts', () => {
  let slow: HttpHarness;
  beforeAll(async () => {
    slow = await openHttpHarness({}, { requestTimeoutMs: 600, headersTimeoutMs: 400 });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('answers 408 HTTP.TIMEOUT in JSON when the body does not arrive in time', async () => {
    const { createConnection } = await import('node:net');
    const port = slow.server.port;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let data = '';
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')));
      socket.on('data', (c) => (data += c.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      // Headers promise 100 bytes, then nothing comes.
      socket.write('POST /webhooks/admin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"act');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('HTTP.TIMEOUT');
  });

  it('answers 408 in JSON when the headers do not arrive in time', async () => {
    const { createConnection } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: slow.server.port });
      let data = '';
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')));
      socket.on('data', (c) => (data += c.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"HTTP.TIMEOUT"');
  });
});
