// The Slack role as `npm start` runs it: off without a bot token, on (HTTP mode) with one.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startApp } from '../../src/main.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { startSlackRole } from '../../src/slack/role.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { ADMIN, FakeSlackApi, SIGNING_SECRET, SlackSender, TEAM, textOf } from '../helpers/slack.ts';

describe('the slack role', () => {
  it('does not start without SLACK_BOT_TOKEN, and says so', async () => {
    const uri = testDatabaseUri();
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const rt = await openAppRuntime(loadConfig({ MONGODB_URI: uri, BCRYPT_COST: '4' }), { log, quiet: true });
    try {
      expect(await startSlackRole(rt)).toBeNull();
      expect(lines.join('')).toContain('"code":"SLACK_DISABLED"');
    } finally {
      await rt.close();
      await dropTestDatabase(uri);
    }
  });

  it('starts in HTTP mode with npm start --role slack, verifies the token, and serves /slack/events', async () => {
    const api = await new FakeSlackApi().start();
    const uri = testDatabaseUri();
    const app = await startApp(
      loadConfig({
        MONGODB_URI: uri,
        BCRYPT_COST: '4',
        LOG_LEVEL: 'warn',
        SMTPDESK_ROLES: 'slack',
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: api.apiUrl,
        SLACK_PORT: '0',
      }),
    );
    try {
      expect(app.roles.map((r) => r.name)).toEqual(['slack']);
      const description = app.roles[0]!.handle.description;
      expect(description).toMatch(/^Slack app over HTTP on port \d+ at \/slack\/events \(\/smtp\)$/);
      expect(api.of('auth.test').length).toBeGreaterThanOrEqual(1);
      const port = Number(/port (\d+)/.exec(description)![1]);
      const responseUrl = api.responseUrl();
      const r = await new SlackSender(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET).command({
        team_id: TEAM.id,
        team_domain: TEAM.domain,
        channel_id: 'C1',
        user_id: ADMIN.id,
        user_name: ADMIN.name,
        command: '/smtp',
        text: 'list',
        response_url: responseUrl,
        trigger_id: 't',
      });
      expect(r.status).toBe(200);
      const answer = await api.waitFor((calls) => calls.find((c) => c.method === 'response_url'));
      expect(textOf(answer.args)).toContain('No SMTP accounts yet');
    } finally {
      await app.stop();
      await api.close();
      await dropTestDatabase(uri);
    }
  });

  it('refuses to start with a token Slack rejects', async () => {
    const api = await new FakeSlackApi().start();
    api.fail('auth.test', 'invalid_auth');
    const uri = testDatabaseUri();
    try {
      await expect(
        startApp(
          loadConfig({
            MONGODB_URI: uri,
            BCRYPT_COST: '4',
            LOG_LEVEL: 'silent',
            SMTPDESK_ROLES: 'slack',
            SLACK_BOT_TOKEN: 'xoxb-bad',
            SLACK_SIGNING_SECRET: SIGNING_SECRET,
            SLACK_API_URL: api.apiUrl,
            SLACK_PORT: '0',
          }),
        ),
      ).rejects.toThrow(
        `slack: the Slack Web API at ${api.apiUrl} (SLACK_API_URL) refused SLACK_BOT_TOKEN (invalid_auth). Copy the Bot User OAuth Token (xoxb-…) of the app's install again.`,
      );
    } finally {
      await api.close();
      await dropTestDatabase(uri);
    }
  });
});
