// The leaked-credential alerts as the alert channel shows them, with a real relay, the real HTTP server and the
// real Bolt receiver on one runtime and the fake Slack Web API: a signed leak report posts where it leaked with
// Rotate (and Disable while active); repeated AUTHs from outside the allowed networks post one alert with
// Disable and Expected, and Expected (a responder) holds further alerts and says so in the message.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, parseAllowedNetworks, setSendingPolicy, updateWorkspaceSettings, type Actor } from '../../src/domain/index.ts';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay.ts';
import { LEAK_ACTION, LEAK_BLOCK } from '../../src/slack/blocks/leak-alerts.ts';
import { ACTION } from '../../src/slack/ids.ts';
import { eventually, testCertificate } from '../helpers/relay.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { ADMIN, ALERT_CHANNEL, RESPONDER, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

type AnyBlock = { type: string; block_id?: string; elements?: { action_id?: string; value?: string }[] };
const operator: Actor = { source: 'cli', id: 'op', name: 'op (cli)', roles: ['admin'] };
const github = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let h: SlackHarness;
let http: HttpServerHandle;
let relay: RunningRelay;
let workspaceId: string;

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'smtpdesk-keys-')), 'keys.json');
  writeFileSync(file, JSON.stringify({ public_keys: [{ key_identifier: 'gh-1', key: github.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
  h = await startSlackHarness({ env: { LOG_LEVEL: 'silent', SECRET_SCANNING_KEYS_FILE: file } });
  http = await startHttpServer(h.rt, { host: '127.0.0.1', port: 0 });
  relay = await startRelay(h.rt, { tls: await testCertificate(), host: '127.0.0.1', port: 0 });
  workspaceId = await h.workspaceId();
  await updateWorkspaceSettings(h.rt.ctx, operator, workspaceId, { alertChannel: ALERT_CHANNEL });
});
afterAll(async () => {
  await relay?.close();
  await http?.close();
  await h?.close();
});

const posted = (header: string) =>
  h.api.of('chat.postMessage').filter((c) => {
    const blocks = c.args.blocks as { type?: string; text?: { text?: string } }[] | undefined;
    return Array.isArray(blocks) && blocks[0]?.type === 'header' && String(blocks[0].text?.text ?? '').startsWith(header);
  });
const actionsIn = (post: RecordedCall, prefix: string, accountId: string) => (post.args.blocks as AnyBlock[]).find((b) => b.block_id === `${prefix}${accountId}`)?.elements ?? [];

async function auth(username: string, password: string, from: string): Promise<number> {
  const c = await RawSmtpClient.connect(relay.port, { localAddress: from });
  try {
    return (await c.login(username, password)).code;
  } finally {
    c.close();
  }
}

describe('leak alerts in Slack', () => {
  it('a leak report posts where it leaked, with Rotate', async () => {
    const issued = await createAccount(h.rt.ctx, operator, workspaceId, 'leaky-app');
    const body = JSON.stringify([{ token: issued.password, type: 'smtpdesk_smtp_password', url: 'https://github.com/acme/app/blob/1a2b/config.yml', source: 'commit' }]);
    const res = await fetch(`${http.url}/webhooks/secret-scanning`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'Github-Public-Key-Identifier': 'gh-1',
        'Github-Public-Key-Signature': sign('sha256', Buffer.from(body), github.privateKey).toString('base64'),
      },
    });
    expect(res.status).toBe(200);
    await eventually(() => posted('Leaked SMTP password').length === 1, 5_000, 'the leak alert');
    const alert = posted('Leaked SMTP password')[0]!;
    expect(alert.args.channel).toBe(ALERT_CHANNEL);
    const text = textOf(alert.args);
    expect(text).toContain('https://github.com/acme/app/blob/1a2b/config.yml');
    expect(text).toContain('(commit)');
    expect(text).toContain('disabled');
    expect(text).not.toContain(issued.password);
    // Disabled already: Rotate is what is left to do (the account's own Rotate button, same modal as anywhere).
    expect(actionsIn(alert, LEAK_BLOCK.actionsPrefix, issued.account.id).map((e) => [e.action_id, e.value])).toEqual([[ACTION.rotate, 'leaky-app']]);
  });

  it('three AUTHs from outside the allowed networks post one alert with Disable and Expected; Expected holds the alerts', async () => {
    const issued = await createAccount(h.rt.ctx, operator, workspaceId, 'fenced-app');
    await setSendingPolicy(h.rt.ctx, operator, workspaceId, 'fenced-app', { allowedNetworks: parseAllowedNetworks('192.0.2.0/24') });
    for (let i = 0; i < 4; i++) expect(await auth(issued.username, issued.password, '127.0.0.2')).toBe(535);
    await eventually(() => posted('Password used from an unknown network').length === 1, 5_000, 'the network alert');
    const alert = posted('Password used from an unknown network')[0]!;
    expect(textOf(alert.args)).toContain('127.0.0.2');
    const buttons = actionsIn(alert, LEAK_BLOCK.networkActionsPrefix, issued.account.id);
    expect(buttons.map((e) => e.action_id)).toEqual([ACTION.disable, LEAK_ACTION.networkExpected]);

    const blockId = `${LEAK_BLOCK.networkActionsPrefix}${issued.account.id}`;
    const message = { ts: String(alert.response.ts), text: alert.args.text, blocks: alert.args.blocks, blockId };
    expect((await h.click(LEAK_ACTION.networkExpected, buttons[1]!.value!, RESPONDER, message)).status).toBe(200);
    const update = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.update' && textOf(c.args).includes('marked this as expected')));
    expect(textOf(update.args)).toContain(`<@${RESPONDER.id}>`);
    const hold = await h.rt.db.models.authLockouts.findById(`network:${issued.account.id}`).lean<{ blockedUntil: Date }>();
    expect(hold!.blockedUntil.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });
});

describe('allowed networks in the sending-limits modal and /smtp show', () => {
  it('the modal has the field; a bad network is shown inline; a good list is saved, audited and shown', async () => {
    await createAccount(h.rt.ctx, operator, workspaceId, 'modal-app');
    const click = await h.click(ACTION.limits, 'modal-app', ADMIN);
    const view = await h.api.modal(click.triggerId);
    expect(JSON.stringify(view)).toContain('smtpdesk_limits_networks');
    const values = (networks: string) => ({
      smtpdesk_limits_senders: { smtpdesk_limits_senders_input: { type: 'plain_text_input', value: '' } },
      smtpdesk_limits_rate: { smtpdesk_limits_rate_input: { type: 'plain_text_input', value: '' } },
      smtpdesk_limits_networks: { smtpdesk_limits_networks_input: { type: 'plain_text_input', value: networks } },
    });
    const bad = JSON.parse((await h.submit(view, values('10.0.0.0/8, not-a-net'), ADMIN)).body) as { response_action: string; errors: Record<string, string> };
    expect(bad.response_action).toBe('errors');
    expect(bad.errors.smtpdesk_limits_networks).toContain('"not-a-net" is not a network');

    const good = await h.submit(view, values('10.1.2.3/16\n2001:db8::/32'), ADMIN);
    expect(textOf(JSON.parse(good.body))).toContain('10.1.0.0/16, 2001:db8::/32');
    expect((await h.rt.ctx.accounts.findByName(workspaceId, 'modal-app'))?.allowedNetworks).toEqual(['10.1.0.0/16', '2001:db8::/32']);
    const audit = (await h.rt.ctx.audit.list(workspaceId, { limit: 20 })).find((e) => e.action === 'account.limits_changed' && e.accountName === 'modal-app');
    expect(audit?.details).toMatchObject({ allowedNetworks: { to: ['10.1.0.0/16', '2001:db8::/32'] } });

    const r = await h.command('show modal-app', ADMIN);
    const [answer] = await h.responses(r.responseUrl);
    expect(textOf(answer!.args)).toMatch(/Allowed networks\*?\n10\.1\.0\.0\/16, 2001:db8::\/32/);
  });
});
