// OAuth distribution, end to end through the real Bolt receiver and the fake Web API: a team installs the app
// at /slack/install -> Slack's authorize page -> /slack/oauth_redirect (oauth.v2.access, auth.test); its
// installation is kept in MongoDB with the token sealed; a slash command from that team is answered with that
// team's own token; app_uninstalled removes it. Token rotation refreshes once across instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createAccount, createSecretBox, updateWorkspaceSettings } from '../../src/domain/index.ts';
import { mongoInstallationStore, type RefreshedToken } from '../../src/slack/installations.ts';
import { slackInstallationRepository } from '../../src/store/repositories/slack-installations.ts';
import { eventually } from '../helpers/relay.ts';
import { ADMIN, SIGNING_SECRET, startSlackHarness, type SlackHarness } from '../helpers/slack.ts';

const SECRET_KEY = 'ab'.repeat(32);
const TEAM2 = { id: 'T2ACME', name: 'Globex', botToken: 'xoxb-team2-token', code: 'code-for-team2' };

let h: SlackHarness;
let base: string;

beforeAll(async () => {
  h = await startSlackHarness({
    env: { SLACK_BOT_TOKEN: '', SLACK_CLIENT_ID: '111.222', SLACK_CLIENT_SECRET: 'client-secret', SLACK_STATE_SECRET: 'state-secret-0123456789', SMTPDESK_SECRET_KEY: SECRET_KEY },
    beforeStart: (api) => api.installs.set(TEAM2.code, { teamId: TEAM2.id, teamName: TEAM2.name, botToken: TEAM2.botToken, botUserId: 'UBOT2', installerId: 'UINSTALLER' }),
  });
  base = `http://127.0.0.1:${h.running.port}`;
});
afterAll(async () => {
  await h?.close();
});

/** The install as a browser makes it: the install page sets the state cookie, Slack sends the browser back with a code. */
async function install(code: string): Promise<Response> {
  const page = await fetch(`${base}/slack/install`, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const cookie = /slack-app-oauth-state=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')?.[1];
  expect(cookie).toBeTruthy();
  const html = await page.text();
  const authorize = new URL(/href="([^"]+oauth\/v2\/authorize[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'));
  expect(authorize.searchParams.get('client_id')).toBe('111.222');
  expect(authorize.searchParams.get('scope')).toContain('commands');
  const state = authorize.searchParams.get('state')!;
  return fetch(`${base}/slack/oauth_redirect?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, {
    headers: { cookie: `slack-app-oauth-state=${cookie}` },
    redirect: 'manual',
  });
}

function commandFrom(teamId: string, text: string, trigger: string) {
  return h.send.command({
    token: 'unused',
    team_id: teamId,
    team_domain: 'globex',
    channel_id: 'CGLOBEX',
    channel_name: 'general',
    user_id: ADMIN.id,
    user_name: ADMIN.name,
    command: '/smtp',
    text,
    api_app_id: 'A1',
    response_url: h.api.responseUrl(),
    trigger_id: trigger,
  });
}

describe('OAuth distribution', () => {
  it('installs in a team through /slack/install and /slack/oauth_redirect, keeping the token sealed in MongoDB', async () => {
    const res = await install(TEAM2.code);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/Thank you|success/i);
    const exchange = h.api.of('oauth.v2.access').find((c) => c.args.code === TEAM2.code)!;
    expect(exchange.args.client_id).toBe('111.222');
    expect(h.api.of('auth.test').some((c) => c.token === TEAM2.botToken)).toBe(true);

    const raw = await h.rt.db.models.slackInstallations.collection.find({}).toArray();
    expect(raw.map((d) => d._id)).toEqual([`T:-:${TEAM2.id}`]);
    expect(JSON.stringify(raw)).not.toContain(TEAM2.botToken);
  });

  it('answers a slash command from that team with that team’s token, in a workspace of its own', async () => {
    const r = await commandFrom(TEAM2.id, 'create billing-receipts', 'trigger-team2');
    expect(r.status).toBe(200);
    const opened = await h.api.waitFor((calls) => calls.find((c) => c.method === 'views.open' && c.args.trigger_id === 'trigger-team2'));
    expect(opened.token).toBe(TEAM2.botToken);
    // The modal opens first (the trigger lasts 3 s); the team's workspace is made when the requester is resolved.
    await eventually(async () => (await h.rt.ctx.workspaces.findBySlackTeam(TEAM2.id)) !== null, 5_000, 'the team’s workspace');
    expect(await h.rt.ctx.workspaces.findBySlackTeam('T1')).toBeNull();
  });

  it('posts the team’s alert channel with the team’s own token (no SLACK_BOT_TOKEN at all)', async () => {
    const ws = (await h.rt.ctx.workspaces.findBySlackTeam(TEAM2.id))!;
    const cli = { source: 'cli' as const, id: 'ops', name: 'ops', roles: ['admin' as const] };
    await updateWorkspaceSettings(h.rt.ctx, cli, ws.id, { alertChannel: 'CGLOBEXALERTS' });
    await createAccount(h.rt.ctx, cli, ws.id, 'globex-invoices');
    const post = await h.api.waitFor((calls) =>
      calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === 'CGLOBEXALERTS' && /globex-invoices/.test(String(c.args.text))),
    );
    expect(post.token).toBe(TEAM2.botToken);
  });

  it('does not answer a team that never installed the app', async () => {
    await commandFrom('T9NEVER', 'create x', 'trigger-team9');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.api.calls.some((c) => c.args.trigger_id === 'trigger-team9')).toBe(false);
  });

  it('a bad state (a forged redirect) installs nothing', async () => {
    const before = h.api.of('oauth.v2.access').length;
    const res = await fetch(`${base}/slack/oauth_redirect?code=${TEAM2.code}&state=forged`, { headers: { cookie: 'slack-app-oauth-state=forged' } });
    expect(res.status).not.toBe(200);
    expect(h.api.of('oauth.v2.access').length).toBe(before);
  });

  it('app_uninstalled removes the installation: the team is no longer answered', async () => {
    const r = await h.send.event({
      token: 'unused',
      team_id: TEAM2.id,
      api_app_id: 'A1',
      type: 'event_callback',
      event_id: 'EvUninstall',
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: TEAM2.id, user_id: 'UBOT2', is_bot: true }],
      event: { type: 'app_uninstalled', event_ts: `${Date.now() / 1000}` },
    });
    expect(r.status).toBe(200);
    const until = Date.now() + 5_000;
    while (Date.now() < until && (await h.rt.db.models.slackInstallations.countDocuments({})) > 0) await new Promise((x) => setTimeout(x, 50));
    expect(await h.rt.db.models.slackInstallations.countDocuments({})).toBe(0);
    await commandFrom(TEAM2.id, 'create y', 'trigger-after-uninstall');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.api.calls.some((c) => c.args.trigger_id === 'trigger-after-uninstall')).toBe(false);
  });
});

describe('token rotation', () => {
  it('refreshes an expiring token once even when two instances ask at the same time', async () => {
    const repo = slackInstallationRepository(h.rt.db.models);
    const secrets = createSecretBox(Buffer.from(SECRET_KEY, 'hex'));
    const log = createLogger({ level: 'silent' });
    let refreshes = 0;
    const refresh = async (token: string): Promise<RefreshedToken> => {
      expect(token).toBe('xoxe-1-refresh-old');
      refreshes++;
      await new Promise((r) => setTimeout(r, 150));
      return { access_token: 'xoxe.xoxb-new', refresh_token: 'xoxe-1-refresh-new', expires_in: 43_200 };
    };
    const a = mongoInstallationStore({ repo, secrets, log, refresh, instanceId: 'a' });
    const b = mongoInstallationStore({ repo, secrets, log, refresh, instanceId: 'b' });
    await a.storeInstallation({
      team: { id: 'T3ROT', name: 'Rot' },
      enterprise: undefined,
      user: { id: 'U1', token: undefined, scopes: undefined },
      bot: { token: 'xoxe.xoxb-old', refreshToken: 'xoxe-1-refresh-old', expiresAt: Math.floor(Date.now() / 1000) + 600, scopes: ['commands'], id: 'B3', userId: 'UB3' },
      isEnterpriseInstall: false,
      authVersion: 'v2',
    });
    const query = { teamId: 'T3ROT', enterpriseId: undefined, isEnterpriseInstall: false as const };
    const [x, y] = await Promise.all([a.fetchInstallation(query), b.fetchInstallation(query)]);
    expect(refreshes).toBe(1);
    expect(x.bot?.token).toBe('xoxe.xoxb-new');
    expect(y.bot?.token).toBe('xoxe.xoxb-new');
    // Bolt is handed no refresh token, so it never refreshes on its own, unguarded.
    expect(x.bot?.refreshToken).toBeUndefined();
    expect((await a.fetchInstallation(query)).bot?.token).toBe('xoxe.xoxb-new');
    expect(refreshes).toBe(1);
  });
});

// Keep the signing secret import used: requests above are signed by the harness with it.
void SIGNING_SECRET;
