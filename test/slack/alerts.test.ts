// The alert channel hears of every change, from any process: the Slack role, the CLI, a webhook, a job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { createLogger } from '../../src/log.ts';
import { alertText, slackAlertSink } from '../../src/slack/alerts.ts';
import type { DomainEvent, Workspace } from '../../src/domain/index.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { slackLogger } from '../../src/slack/client.ts';
import { ALERT_CHANNEL, FakeSlackApi, SIGNING_SECRET, startSlackHarness, type SlackHarness } from '../helpers/slack.ts';

const quiet = () => slackLogger(createLogger({ level: 'silent' }), 'test');

describe('alert lines', () => {
  const account = { id: 'a1', name: 'crm', username: 'smtp-abc', status: 'active' as const };
  const at = new Date('2026-11-15T12:00:00Z');
  it.each<[Partial<DomainEvent>, string]>([
    [{ type: 'account.created', actor: { source: 'slack', id: 'U1', name: 'ada' }, account }, ':new: <@U1> created SMTP account *crm* (`smtp-abc`).'],
    [
      { type: 'account.rotated', actor: { source: 'cli', id: 'root', name: 'root (cli)' }, account },
      ':key: root (cli) rotated the password of *crm* (`smtp-abc`); the old password no longer works.',
    ],
    [
      { type: 'account.disabled', actor: { source: 'webhook', id: 'pagerduty' }, account, reason: 'suspected_compromise', note: 'leak <here>' },
      ':no_entry: pagerduty (webhook) disabled *crm* (`smtp-abc`). Reason: suspected compromise — “leak &lt;here&gt;”',
    ],
    [{ type: 'account.enabled', actor: { source: 'slack', id: 'U1' }, account }, ':large_green_circle: <@U1> enabled *crm* (`smtp-abc`) again (same credentials).'],
    [
      { type: 'account.deleted', actor: { source: 'slack', id: 'U1' }, account, details: { forced: true, queuedMessages: 3 } },
      ':wastebasket: <@U1> deleted *crm* (`smtp-abc`). 3 queued message(s) were dropped.',
    ],
    [
      { type: 'account.kept', actor: { source: 'slack', id: 'U1' }, account, details: { snoozedUntil: '2026-12-15T12:00:00.000Z' } },
      ':pushpin: <@U1> kept idle account *crm* (`smtp-abc`) until 2026-12-15.',
    ],
    [{ type: 'plan.changed', actor: { source: 'slack', id: 'U1' }, details: { from: '10k', to: '20k' } }, ':chart_with_upwards_trend: <@U1> changed the plan from *10k* to *20k*.'],
  ])('%j', (partial, line) => {
    expect(alertText({ workspaceId: 'w', at, ...partial } as DomainEvent)).toBe(line);
  });
});

describe('slackAlertSink', () => {
  let api: FakeSlackApi;
  beforeAll(async () => {
    api = await new FakeSlackApi().start();
  });
  afterAll(async () => {
    await api.close();
  });

  const ws = (alertChannel?: string): Workspace => ({
    id: 'w1',
    name: 'acme',
    planId: '10k',
    roles: { admins: [], responders: [] },
    slotsUsed: 0,
    createdAt: new Date(),
    ...(alertChannel ? { alertChannel } : {}),
  });
  const event: DomainEvent = {
    type: 'account.enabled',
    workspaceId: 'w1',
    at: new Date(),
    actor: { source: 'slack', id: 'U1' },
    account: { id: 'a', name: 'crm', username: 'smtp-x', status: 'active' },
  };

  it("posts nothing when the workspace has no alert channel, and skips the jobs' own flags", async () => {
    const sink = slackAlertSink({
      client: new WebClient('xoxb', { slackApiUrl: api.apiUrl, logger: quiet() }),
      findWorkspace: async () => ws(),
      log: createLogger({ level: 'silent' }),
    });
    void sink.publish(event);
    const withChannel = slackAlertSink({
      client: new WebClient('xoxb', { slackApiUrl: api.apiUrl, logger: quiet() }),
      findWorkspace: async () => ws('C9'),
      log: createLogger({ level: 'silent' }),
    });
    void withChannel.publish({ ...event, type: 'account.idle' });
    await sink.drain();
    await withChannel.drain();
    expect(api.calls).toEqual([]);
  });

  it('does not hold up the change while Slack rate-limits it, and still posts after Retry-After', async () => {
    api.rateLimit('chat.postMessage');
    const sink = slackAlertSink({
      client: new WebClient('xoxb', { slackApiUrl: api.apiUrl, logger: quiet(), retryConfig: { retries: 2, minTimeout: 10 } }),
      findWorkspace: async () => ws('C9'),
      log: createLogger({ level: 'silent' }),
    });
    const started = Date.now();
    await sink.publish(event);
    expect(Date.now() - started).toBeLessThan(100);
    await sink.drain();
    expect(api.calls.filter((c) => c.method === 'chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    expect(api.of('chat.postMessage')[0]!.args.channel).toBe('C9');
  });
});

describe('changes made with the CLI', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness();
    const ws = await h.workspaceId();
    await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('are posted to the alert channel by the CLI process itself, without the password', async () => {
    const env = {
      MONGODB_URI: h.rt.config.database.uri!,
      SLACK_BOT_TOKEN: 'xoxb-cli',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: h.api.apiUrl,
      SMTPDESK_WORKSPACE: 'acme',
    };
    const created = await runSmtpdesk(['accounts', 'create', 'from-the-cli', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { password, username } = created.json<{ password: string; username: string }>();
    const disabled = await runSmtpdesk(['accounts', 'disable', 'from-the-cli', '--reason', 'maintenance', '--note', 'patching'], env);
    expect(disabled.code, disabled.stderr).toBe(0);
    // Each CLI process waits for its alert post before it exits.
    const posts = h.api.of('chat.postMessage').filter((c) => c.args.channel === ALERT_CHANNEL);
    expect(posts.map((c) => c.args.text)).toEqual([
      expect.stringMatching(new RegExp(`^:new: \\S+ \\(cli\\) created SMTP account \\*from-the-cli\\* \\(\`${username}\`\\)\\.$`)),
      expect.stringMatching(new RegExp(`^:no_entry: \\S+ \\(cli\\) disabled \\*from-the-cli\\* \\(\`${username}\`\\)\\. Reason: maintenance — “patching”$`)),
    ]);
    expect(h.api.calls.filter((c) => c.raw.includes(password))).toEqual([]);
  }, 60_000);
});
