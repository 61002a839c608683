// The responder's path end to end: a signed webhook disables an account, and the relay refuses that
// account's very next AUTH (535), even right after a successful AUTH was cached.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.ts';
import { INTEGRATIONS, postAdminWebhook } from '../helpers/http.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;
let http: HttpServerHandle;
beforeAll(async () => {
  t = await startTestRelay({ env: { ADMIN_WEBHOOK_SECRETS: `pagerduty:${INTEGRATIONS.pagerduty}` } });
  http = await startHttpServer(t.rt, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await http?.close();
  await t?.close();
});

function send(user: string, pass: string, subject: string) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
  });
  return transport.sendMail({ from: 'app@example.com', to: 'someone@example.org', subject, text: 'hello' });
}

it('webhook disable, then a real SMTP AUTH gets 535; enable restores the same credentials', async () => {
  const a = await t.newAccount('prod-transactional');
  expect((await send(a.username, a.password, 'before')).response).toMatch(/^250 /);

  const off = await postAdminWebhook(http.url, { body: { action: 'disable', username: a.username, reason: 'suspected_compromise' } });
  expect(off.status).toBe(200);

  await expect(send(a.username, a.password, 'after disable')).rejects.toMatchObject({ responseCode: 535, response: expect.stringMatching(/^535 5\.7\.8 /) });

  const on = await postAdminWebhook(http.url, { body: { action: 'enable', workspace: t.workspace.name, name: 'prod-transactional' } });
  expect(on.status).toBe(200);
  expect((await send(a.username, a.password, 'after enable')).response).toMatch(/^250 /);
});

it('webhook rotate: the old password gets 535 at once, the new one from the answer is accepted', async () => {
  const a = await t.newAccount('billing');
  expect((await send(a.username, a.password, 'before')).response).toMatch(/^250 /);

  const rotated = await postAdminWebhook(http.url, { body: { action: 'rotate', username: a.username, reason: 'leaked in CI logs' } });
  expect(rotated.status).toBe(200);

  await expect(send(a.username, a.password, 'old password')).rejects.toMatchObject({ responseCode: 535 });
  expect((await send(a.username, rotated.json.password as string, 'new password')).response).toMatch(/^250 /);
});
