// POST /webhooks/secret-scanning against a real relay and HTTP server on one runtime: a report signed as GitHub
// signs them (ECDSA P-256 / SHA-256, a key pair made here) disables the account at once and the next AUTH gets
// 535; a forged signature, an unknown key id and a wrong checksum change nothing. Keys come from
// SECRET_SCANNING_KEYS_FILE, and from SECRET_SCANNING_KEYS_URL served by a local HTTP server (re-read on an
// unknown key id).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAccount, rotateAccountPassword, setCredentialPolicy, type AuditEntry } from '../../src/domain/index.ts';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.ts';
import { admin } from '../helpers/domain.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

function keyPair() {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const keysJson = (keys: { id: string; publicKey: KeyObject }[]) =>
  JSON.stringify({ public_keys: keys.map((k, i) => ({ key_identifier: k.id, key: pem(k.publicKey), is_current: i === 0 })) });

interface Post {
  status: number;
  json: unknown;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Post> {
  const res = await fetch(`${url}/webhooks/secret-scanning`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: await res.json() };
}

/** Signs as GitHub does: base64 of the DER ECDSA signature over the raw body. */
function signed(body: string, keyId: string, privateKey: KeyObject): Record<string, string> {
  return { 'Github-Public-Key-Identifier': keyId, 'Github-Public-Key-Signature': sign('sha256', Buffer.from(body), privateKey).toString('base64') };
}

async function auth(t: TestRelay, username: string, password: string): Promise<string> {
  const c = await RawSmtpClient.connect(t.port);
  try {
    const r = await c.login(username, password);
    return `${r.code} ${r.text}`;
  } finally {
    c.close();
  }
}

async function leakedAudits(t: TestRelay, accountId: string): Promise<AuditEntry[]> {
  return (await t.rt.ctx.audit.list(t.workspace.id, { accountId, limit: 50 })).filter((e) => e.action === 'account.leaked');
}

describe('secret-scanning reports with keys from SECRET_SCANNING_KEYS_FILE', () => {
  const github = keyPair();
  const stranger = keyPair();
  let t: TestRelay;
  let http: HttpServerHandle;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-keys-'));
    const file = join(dir, 'keys.json');
    writeFileSync(file, keysJson([{ id: 'github-key-1', publicKey: github.publicKey }]));
    t = await startTestRelay({ env: { SECRET_SCANNING_KEYS_FILE: file, OUTBOUND_WEBHOOK_URLS: 'http://127.0.0.1:9/hook', OUTBOUND_WEBHOOK_SECRET: 'outbound-secret-0123456789' } });
    http = await startHttpServer(t.rt, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
  });

  it('a signed report of a live password disables the account at once: the next AUTH gets 535', async () => {
    const a = await t.newAccount('billing-app');
    expect(await auth(t, a.username, a.password)).toMatch(/^235 /);
    const body = JSON.stringify([{ token: a.password, type: 'smtpdesk_smtp_password', url: 'https://github.com/acme/app/blob/abc123/.env', source: 'commit' }]);
    const res = await post(http.url, body, signed(body, 'github-key-1', github.privateKey));
    expect(res).toEqual({ status: 200, json: [{ token_raw: a.password, token_type: 'smtpdesk_smtp_password', label: 'true_positive' }] });

    expect(await auth(t, a.username, a.password)).toBe('535 5.7.8 Authentication failed');
    const account = await t.rt.ctx.accounts.findById(a.accountId);
    expect(account).toMatchObject({ status: 'disabled', disabled: { reason: 'leaked' }, passwordLeak: { url: 'https://github.com/acme/app/blob/abc123/.env', source: 'commit' } });

    // Audited, and sent as an account.leaked outbound event (through the outbox), never with the password.
    const audits = await leakedAudits(t, a.accountId);
    expect(audits).toHaveLength(1);
    expect(audits[0]!.details).toMatchObject({ policy: 'disable', action: 'disabled', source: 'commit' });
    const outbox = await t.rt.db.models.webhookOutbox.find({ type: 'account.leaked' }).lean<{ body: string }[]>();
    expect(outbox.map((o) => JSON.parse(o.body) as { account: { username: string } }).map((p) => p.account.username)).toContain(a.username);
    expect(outbox.some((o) => o.body.includes(a.password))).toBe(false);
    expect(t.rawLogs()).not.toContain(a.password);
    expect(t.logs.some((l) => l.code === 'SECRET_SCANNING_LEAK' && l.username === a.username)).toBe(true);

    // Enabling again waits for a rotate; after one, it works with the new password only.
    await expect(enableAccount(t.rt.ctx, admin, t.workspace.id, 'billing-app')).rejects.toMatchObject({ code: 'ACCOUNT.PASSWORD_LEAKED' });
    const rotated = await rotateAccountPassword(t.rt.ctx, admin, t.workspace.id, 'billing-app');
    await enableAccount(t.rt.ctx, admin, t.workspace.id, 'billing-app');
    expect(await auth(t, a.username, rotated.password)).toMatch(/^235 /);
    expect(await auth(t, a.username, a.password)).toMatch(/^535 /);
  });

  it('with --on-leak rotate the leaked password stops working and the account stays enabled', async () => {
    await setCredentialPolicy(t.rt.ctx, admin, t.workspace.id, { onLeak: 'rotate' });
    try {
      const a = await t.newAccount('rotating-app');
      const body = JSON.stringify([{ token: a.password, type: 'smtpdesk_smtp_password', url: 'https://gist.github.com/x/1', source: 'gist' }]);
      const res = await post(http.url, body, signed(body, 'github-key-1', github.privateKey));
      expect((res.json as { label: string }[])[0]!.label).toBe('true_positive');
      expect(await auth(t, a.username, a.password)).toMatch(/^535 /);
      expect(await t.rt.ctx.accounts.findById(a.accountId)).toMatchObject({ status: 'active' });
      expect((await leakedAudits(t, a.accountId))[0]!.details).toMatchObject({ policy: 'rotate', action: 'rotated' });
    } finally {
      await setCredentialPolicy(t.rt.ctx, admin, t.workspace.id, { onLeak: 'disable' });
    }
  });

  it('a forged signature, an unknown key id and a wrong checksum change nothing', async () => {
    const a = await t.newAccount('untouched-app');
    const body = JSON.stringify([{ token: a.password, type: 'smtpdesk_smtp_password', url: 'https://example.test/', source: 'content' }]);

    // Signed by someone else, claiming GitHub's key id.
    const forged = await post(http.url, body, signed(body, 'github-key-1', stranger.privateKey));
    expect(forged).toMatchObject({ status: 401, json: { error: { code: 'SECRET_SCANNING.SIGNATURE_INVALID' } } });
    // GitHub's signature over another body.
    const other = JSON.stringify([{ token: 'smtpd_x', type: 't' }]);
    const swapped = await post(http.url, body, signed(other, 'github-key-1', github.privateKey));
    expect(swapped.status).toBe(401);
    // A key id we do not hold.
    const unknown = await post(http.url, body, signed(body, 'made-up-key', stranger.privateKey));
    expect(unknown).toMatchObject({ status: 401, json: { error: { code: 'SECRET_SCANNING.UNKNOWN_KEY' } } });
    // Unsigned, malformed.
    expect((await post(http.url, body, {})).json).toMatchObject({ error: { code: 'SECRET_SCANNING.SIGNATURE_MISSING' } });
    const notJson = '[{"token": ';
    expect(await post(http.url, notJson, signed(notJson, 'github-key-1', github.privateKey))).toMatchObject({
      status: 400,
      json: { error: { code: 'SECRET_SCANNING.MALFORMED_JSON' } },
    });
    const notArray = '{"token":"x"}';
    expect(await post(http.url, notArray, signed(notArray, 'github-key-1', github.privateKey))).toMatchObject({
      status: 422,
      json: { error: { code: 'SECRET_SCANNING.INVALID_REPORT' } },
    });

    // Correctly signed, but the checksum is wrong: a false positive, and the accounts are not even read.
    const lookups = { n: 0 };
    const accounts = t.rt.ctx.accounts;
    const read = accounts.findByUsernameWithSecret.bind(accounts);
    accounts.findByUsernameWithSecret = (u) => {
      lookups.n += 1;
      return read(u);
    };
    try {
      const last = a.password.at(-1) === 'A' ? 'B' : 'A';
      const lookAlike = `${a.password.slice(0, -1)}${last}`;
      const wrong = JSON.stringify([{ token: lookAlike, type: 'smtpdesk_smtp_password', url: 'https://example.test/', source: 'content' }]);
      const res = await post(http.url, wrong, signed(wrong, 'github-key-1', github.privateKey));
      expect(res).toEqual({ status: 200, json: [{ token_raw: lookAlike, token_type: 'smtpdesk_smtp_password', label: 'false_positive' }] });
      expect(lookups.n).toBe(0);
    } finally {
      accounts.findByUsernameWithSecret = read;
    }

    expect(await t.rt.ctx.accounts.findById(a.accountId)).toMatchObject({ status: 'active' });
    expect((await t.rt.ctx.accounts.findById(a.accountId))?.passwordLeak).toBeUndefined();
    expect(await leakedAudits(t, a.accountId)).toEqual([]);
    expect(await auth(t, a.username, a.password)).toMatch(/^235 /);
    expect(t.logs.filter((l) => l.code === 'SECRET_SCANNING_REFUSED').length).toBeGreaterThanOrEqual(5);
  });
});

describe('secret-scanning keys from SECRET_SCANNING_KEYS_URL', () => {
  const first = keyPair();
  const second = keyPair();
  let served = [{ id: 'k1', publicKey: first.publicKey }];
  let fetches = 0;
  let keyServer: Server;
  let t: TestRelay;
  let http: HttpServerHandle;

  beforeAll(async () => {
    keyServer = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(keysJson(served));
    });
    await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
    t = await startTestRelay({ env: { SECRET_SCANNING_KEYS_URL: url, SECRET_SCANNING_KEYS_REFRESH_SECONDS: '0' } });
    http = await startHttpServer(t.rt, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
    await new Promise((r) => keyServer?.close(r));
  });

  it('reads the keys once, keeps them, and reads again when a report names a new key id', async () => {
    const a = await t.newAccount('first-app');
    const body1 = JSON.stringify([{ token: `${a.password.slice(0, -1)}!`, type: 't', url: 'u', source: 's' }]);
    expect((await post(http.url, body1, signed(body1, 'k1', first.privateKey))).status).toBe(200);
    expect((await post(http.url, body1, signed(body1, 'k1', first.privateKey))).status).toBe(200);
    expect(fetches).toBe(1);

    // GitHub rotates its key: the new id is unknown here until the keys are read again.
    served = [
      { id: 'k2', publicKey: second.publicKey },
      { id: 'k1', publicKey: first.publicKey },
    ];
    const body2 = JSON.stringify([{ token: a.password, type: 'smtpdesk_smtp_password', url: 'https://github.com/acme/x', source: 'commit' }]);
    const res = await post(http.url, body2, signed(body2, 'k2', second.privateKey));
    expect(res).toEqual({ status: 200, json: [{ token_raw: a.password, token_type: 'smtpdesk_smtp_password', label: 'true_positive' }] });
    expect(fetches).toBe(2);
    expect(await auth(t, a.username, a.password)).toMatch(/^535 /);
  });
});
