// Slack's transport rules: only signed, fresh requests are served; every request is acknowledged within
// Slack's 3 seconds even when the database is slow; rate-limited Web API calls are retried, not lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createAccount, type Actor } from '../../src/domain/index.ts';
import { ADMIN, SlackSender, TEAM, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';
import { SlowProxy, singleHostOf } from '../helpers/slow-proxy.ts';

const ops: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

describe('request signatures', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const fields = () => ({
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: 'C1',
    user_id: ADMIN.id,
    user_name: ADMIN.name,
    command: '/smtp',
    text: 'help',
    response_url: h.api.responseUrl(),
    trigger_id: 't',
  });

  it('serves a correctly signed request', async () => {
    const f = fields();
    const r = await h.send.command(f);
    expect(r.status).toBe(200);
    const [help] = await h.responses(f.response_url);
    expect(textOf(help!.args)).toContain('/smtp list');
  });

  it('refuses a bad signature with 401 and does nothing', async () => {
    const before = h.api.calls.length;
    const body = new URLSearchParams(fields()).toString();
    const ts = Math.floor(Date.now() / 1000);
    const wrongSecret = await h.send.send(body, 'application/x-www-form-urlencoded', { ts, signature: new SlackSender(h.send.url, 'not-the-secret').sign(body, ts) });
    expect(wrongSecret.status).toBe(401);
    const tampered = await h.send.send(body.replace('help', 'list'), 'application/x-www-form-urlencoded', { ts, signature: h.send.sign(body, ts) });
    expect(tampered.status).toBe(401);
    const missing = await fetch(h.send.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(missing.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.api.calls.slice(before)).toEqual([]);
  });

  it('refuses a stale timestamp (replay) with 401, even when correctly signed', async () => {
    const ts = Math.floor(Date.now() / 1000) - 6 * 60;
    const r = await h.send.command(fields(), { ts });
    expect(r.status).toBe(401);
  });
});

describe('acknowledgement within 3 seconds', () => {
  const base = singleHostOf(inject('mongoBaseUri'));
  let proxy: SlowProxy;
  let h: SlackHarness;

  beforeAll(async () => {
    if (!base) return;
    proxy = await new SlowProxy(base.host, base.port).start();
    h = await startSlackHarness({
      connectVia: (uri) => {
        const viaProxy = uri.replace(`${base.host}:${base.port}`, `127.0.0.1:${proxy.port}`);
        return `${viaProxy}${viaProxy.includes('?') ? '&' : '?'}directConnection=true`;
      },
    });
    const ws = await h.workspaceId();
    await createAccount(h.rt.ctx, ops, ws, 'crm');
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it.skipIf(!base)(
    'acks a slash command at once while every database round trip takes 4 s; the answer follows',
    async () => {
      proxy.delayMs = 4000;
      const list = await h.command('list');
      expect(list.status).toBe(200);
      expect(list.ms).toBeLessThan(1000);
      const sentAt = Date.now();
      const del = await h.command('delete crm');
      expect(del.status).toBe(200);
      expect(del.ms).toBeLessThan(1000);
      // The delete modal is opened from the trigger at once (loading), before any database work.
      const opened = await h.api.waitFor((calls) => calls.find((c) => c.method === 'views.open' && c.args.trigger_id === del.triggerId), 2000);
      expect(opened.at - sentAt).toBeLessThan(1500); // a database round trip alone takes 4 s
      expect(textOf(opened.args)).toContain('Loading');

      proxy.delayMs = 0; // what is in flight still takes its 4 s
      const [answer] = await h.responses(list.responseUrl);
      expect(textOf(answer!.args)).toContain('crm');
      const filled = await h.api.modal(del.triggerId, (v) => v.callback_id === 'smtpdesk_view_delete', 25_000);
      expect(textOf(filled)).toContain('Type "crm" to confirm');
      proxy.delayMs = 0;
    },
    50_000,
  );

  it.skipIf(!base)(
    'answers a modal submission in time while the database is slow, and updates the modal when done',
    async () => {
      const r = await h.command('create slow-db');
      const view = await h.api.modal(r.triggerId, (v) => v.callback_id === 'smtpdesk_view_create');
      await h.running.deps.background.drain();
      proxy.delayMs = 3000;
      const sent = await h.submit(view, { smtpdesk_create_name: { smtpdesk_create_name_input: { type: 'plain_text_input', value: 'slow-db' } } });
      expect(sent.status).toBe(200);
      expect(sent.ms).toBeLessThan(3000);
      expect(textOf(JSON.parse(sent.body))).toContain('Working on it');
      proxy.delayMs = 0;
      await h.api.waitFor((calls) => calls.find((c) => c.method === 'views.update' && c.args.view_id === view.id && textOf(c.args).includes('Created *slow-db*')), 40_000);
      await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('*Password*')), 10_000);
      proxy.delayMs = 0;
    },
    60_000,
  );
});

describe('rate limits', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('retries a 429 after Retry-After: the modal opens and the password still arrives, once', async () => {
    h.api.rateLimit('views.open');
    const r = await h.command('create rate-limited');
    const open = await h.api.waitFor((calls) => {
      const opens = calls.filter((c) => c.method === 'views.open');
      return opens.length >= 2 ? opens : undefined;
    });
    expect(open.map((c) => c.status)).toEqual([429, 200]);
    expect(open[1]!.at - open[0]!.at).toBeGreaterThanOrEqual(1000);

    const view = await h.api.modal(r.triggerId);
    h.api.rateLimit('chat.postEphemeral');
    await h.submit(view, { smtpdesk_create_name: { smtpdesk_create_name_input: { type: 'plain_text_input', value: 'rate-limited' } } });
    const posts = await h.api.waitFor((calls) => {
      // The credentials go to the DM (the channel then gets a pointer without them).
      const p = calls.filter((c) => c.method === 'chat.postEphemeral' && String(c.args.channel).startsWith('D'));
      return p.length >= 2 ? p : undefined;
    });
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(textOf(posts[1]!.args)).toContain('*Password*');
    expect(h.logs.some((l) => l.includes('rate limiting'))).toBe(true);
  }, 30_000);
});
