// Slack, for tests, made of real parts: a local server that answers like the Web API (and takes response_url
// posts) and records every call, and a sender of requests signed exactly as Slack signs them, aimed at the
// real Bolt HTTP receiver of a running smtpdesk Slack role.
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { runSlack, createSlackDeps, type RunningSlack } from '../../src/slack/role.ts';
import { dropTestDatabase, testDatabaseUri } from './database.ts';
import { FakeSlackApi, type RecordedCall } from '../../scripts/lib/fake-slack-api.ts';

// The fake Web API is shared with scripts/test-hostile.ts, so it lives in scripts/lib.
export { FakeSlackApi, type RecordedCall };

export interface SentRequest {
  status: number;
  body: string;
  /** Time until the response (the ack) arrived. */
  ms: number;
}

/** Sends requests to the Bolt receiver signed as Slack does: v0=HMAC-SHA256(secret, "v0:{ts}:{raw body}"). */
export class SlackSender {
  constructor(
    readonly url: string,
    private readonly signingSecret: string,
  ) {}

  sign(body: string, ts: number): string {
    return `v0=${createHmac('sha256', this.signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
  }

  async send(body: string, contentType: string, opts: { ts?: number; signature?: string; headers?: Record<string, string> } = {}): Promise<SentRequest> {
    const ts = opts.ts ?? Math.floor(Date.now() / 1000);
    const started = Date.now();
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': opts.signature ?? this.sign(body, ts),
        ...(opts.headers ?? {}),
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: text, ms: Date.now() - started };
  }

  /** A slash command, form-encoded like Slack's. */
  command(fields: Record<string, string>, opts?: Parameters<SlackSender['send']>[2]): Promise<SentRequest> {
    return this.send(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', opts);
  }

  /** An interaction (block_actions, view_submission): a form with one `payload` field holding JSON. */
  interaction(payload: Record<string, unknown>, opts?: Parameters<SlackSender['send']>[2]): Promise<SentRequest> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded', opts);
  }

  /** An Events API callback (JSON). */
  event(body: Record<string, unknown>, opts?: Parameters<SlackSender['send']>[2]): Promise<SentRequest> {
    return this.send(JSON.stringify(body), 'application/json', opts);
  }
}

export const TEAM = { id: 'T1', domain: 'acme' };
export const CHANNEL = 'CGENERAL';
export const ALERT_CHANNEL = 'CALERTS';
export const ADMIN = { id: 'UADMIN', name: 'ada' };
export const RESPONDER = { id: 'URESP', name: 'rhea' };
export const MEMBER = { id: 'UMEMBER', name: 'max' };
export const SIGNING_SECRET = 'test-signing-secret-0123456789';

export interface SlackHarness {
  api: FakeSlackApi;
  send: SlackSender;
  rt: Runtime;
  running: RunningSlack;
  /** Every log line written so far (JSON). */
  logs: string[];
  commandCount: number;
  /** Sends `/smtp <text>` as `user`; returns the HTTP answer and the response_url it gave. */
  command(text: string, user?: { id: string; name: string }): Promise<SentRequest & { responseUrl: string; triggerId: string }>;
  /** The response_url posts for `responseUrl`, waited for (bounded). */
  responses(responseUrl: string, n?: number): Promise<RecordedCall[]>;
  /** Submits a modal recorded in a views.open / views.update call, with state values. */
  submit(view: Record<string, unknown>, values: Record<string, Record<string, unknown>>, user?: { id: string; name: string }): Promise<SentRequest>;
  /** Clicks a button (block_actions) on App Home or in a channel message. */
  click(actionId: string, value: string, user?: { id: string; name: string }, where?: 'home' | 'message' | ClickedMessage): Promise<SentRequest & { triggerId: string }>;
  /** Picks `value` in a static select (block_actions) on App Home. */
  select(actionId: string, value: string, user?: { id: string; name: string }): Promise<SentRequest & { triggerId: string }>;
  /** app_home_opened for `user`. */
  openHome(user?: { id: string; name: string }, opts?: { eventId?: string; retryNum?: number }): Promise<SentRequest>;
  workspaceId(): Promise<string>;
  close(): Promise<void>;
}

/** A message in the alert channel whose button is clicked: its ts and content, and the block holding the button. */
export interface ClickedMessage {
  ts: string;
  text?: unknown;
  blocks?: unknown;
  blockId: string;
}

/**
 * A running Slack role on a fresh database, with the fake Web API behind SLACK_API_URL.
 * Admins: SLACK_ADMIN_USERS=UADMIN; responders: the user group SRESP (members from usergroups.users.list).
 */
export async function startSlackHarness(
  opts: { env?: Record<string, string>; submitDeadlineMs?: number; connectVia?: (dbUri: string) => string; beforeStart?: (api: FakeSlackApi) => void } = {},
): Promise<SlackHarness> {
  const api = await new FakeSlackApi().start();
  api.groups.set('SRESP', [RESPONDER.id]);
  opts.beforeStart?.(api);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const dbUri = testDatabaseUri();
  const config = loadConfig({
    MONGODB_URI: opts.connectVia ? opts.connectVia(dbUri) : dbUri,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'debug',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: api.apiUrl,
    SLACK_ADMIN_USERS: ADMIN.id,
    SLACK_RESPONDER_GROUP: 'SRESP',
    ...(opts.env ?? {}),
  });
  const log = createLogger({ level: 'debug', destination: sink });
  const rt = await openAppRuntime(config, { log, quiet: true });
  const deps = createSlackDeps(rt, { submitDeadlineMs: opts.submitDeadlineMs });
  const running = await runSlack(rt, { port: 0, deps });
  const send = new SlackSender(`http://127.0.0.1:${running.port}/slack/events`, SIGNING_SECRET);
  let triggers = 0;

  /** A block_actions payload from App Home or from a channel message, as Slack signs and sends it. */
  const interact = async (action: Record<string, unknown>, user: { id: string; name: string }, where: 'home' | 'message' | ClickedMessage) => {
    const triggerId = `trigger-${++triggers}`;
    const base = {
      type: 'block_actions',
      team: { id: TEAM.id, domain: TEAM.domain },
      user: { id: user.id, username: user.name, name: user.name, team_id: TEAM.id },
      api_app_id: 'A1',
      token: 'unused',
      trigger_id: triggerId,
      response_url: api.responseUrl(),
      actions: [action],
    };
    const r = await send.interaction(
      where === 'home'
        ? {
            ...base,
            container: { type: 'view', view_id: 'VHOME' },
            view: { id: 'VHOME', type: 'home', team_id: TEAM.id, callback_id: '', private_metadata: '', blocks: [], state: { values: {} }, hash: 'h' },
          }
        : where === 'message'
          ? { ...base, container: { type: 'message', channel_id: ALERT_CHANNEL }, channel: { id: ALERT_CHANNEL, name: 'alerts' }, message: { type: 'message', ts: '1.1' } }
          : {
              ...base,
              container: { type: 'message', channel_id: ALERT_CHANNEL, message_ts: where.ts },
              channel: { id: ALERT_CHANNEL, name: 'alerts' },
              message: { type: 'message', ts: where.ts, text: where.text, blocks: where.blocks },
            },
    );
    return { ...r, triggerId };
  };
  const h: SlackHarness = {
    api,
    send,
    rt,
    running,
    logs,
    commandCount: 0,
    async command(text, user = ADMIN) {
      const responseUrl = api.responseUrl();
      const triggerId = `trigger-${++triggers}`;
      h.commandCount++;
      const r = await send.command({
        token: 'verification-token-unused',
        team_id: TEAM.id,
        team_domain: TEAM.domain,
        channel_id: CHANNEL,
        channel_name: 'general',
        user_id: user.id,
        user_name: user.name,
        command: config.slack.command,
        text,
        api_app_id: 'A1',
        response_url: responseUrl,
        trigger_id: triggerId,
      });
      return { ...r, responseUrl, triggerId };
    },
    async responses(responseUrl, n = 1) {
      return api.waitFor(
        (calls) => {
          const path = new URL(responseUrl).pathname;
          const mine = calls.filter((c) => c.method === 'response_url' && c.path === path);
          return mine.length >= n ? mine : undefined;
        },
        15_000,
        `${n} response(s) on ${responseUrl}`,
      );
    },
    submit(view, values, user = ADMIN) {
      const state = { values };
      return send.interaction({
        type: 'view_submission',
        team: { id: TEAM.id, domain: TEAM.domain },
        user: { id: user.id, name: user.name, username: user.name, team_id: TEAM.id },
        api_app_id: 'A1',
        token: 'unused',
        trigger_id: `trigger-${++triggers}`,
        view: {
          id: view.id ?? 'V-unknown',
          team_id: TEAM.id,
          type: 'modal',
          callback_id: view.callback_id,
          private_metadata: view.private_metadata ?? '',
          blocks: view.blocks ?? [],
          state,
          hash: 'h',
          title: view.title,
          app_id: 'A1',
          bot_id: 'BBOT',
          root_view_id: view.id,
          previous_view_id: null,
          clear_on_close: false,
          notify_on_close: false,
        },
      });
    },
    click(actionId, value, user = ADMIN, where = 'home') {
      const blockId = typeof where === 'object' ? where.blockId : 'b';
      return interact({ type: 'button', action_id: actionId, block_id: blockId, value, action_ts: `${Date.now() / 1000}` }, user, where);
    },
    select(actionId, value, user = ADMIN) {
      const selected_option = { text: { type: 'plain_text', text: value }, value };
      return interact({ type: 'static_select', action_id: actionId, block_id: 'b', selected_option, action_ts: `${Date.now() / 1000}` }, user, 'home');
    },
    openHome(user = ADMIN, o = {}) {
      const eventId = o.eventId ?? `Ev${++triggers}`;
      return send.event(
        {
          token: 'unused',
          team_id: TEAM.id,
          api_app_id: 'A1',
          type: 'event_callback',
          event_id: eventId,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [{ team_id: TEAM.id, user_id: 'UBOT', is_bot: true }],
          event: { type: 'app_home_opened', user: user.id, channel: `D${user.id}`, tab: 'home', event_ts: `${Date.now() / 1000}` },
        },
        o.retryNum !== undefined ? { headers: { 'x-slack-retry-num': String(o.retryNum), 'x-slack-retry-reason': 'http_timeout' } } : undefined,
      );
    },
    async workspaceId() {
      const id = (await running.deps.directory.workspaceFor(TEAM.id, TEAM.domain)).id;
      // The install's own "created this workspace" alert is settled before a test sets an alert channel,
      // so that post never lands in the channel the test then watches.
      await rt.drainAlerts();
      return id;
    },
    async close() {
      await running.stop();
      await rt.close();
      await api.close();
      await dropTestDatabase(dbUri).catch(() => undefined);
    },
  };
  return h;
}

/** Every `text` in a message, view or block list, joined: what a person reads. */
export function textOf(x: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, val] of Object.entries(v)) {
        if (k === 'text' && typeof val === 'string') out.push(val);
        else walk(val);
      }
    }
  };
  walk(x);
  return out.join('\n');
}

/** Every action_id of buttons, selects and menu options in a view or message. */
export function actionIdsOf(x: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'button' || o.type === 'static_select') && typeof o.action_id === 'string') out.push(o.action_id);
      if (o.type === 'overflow' && Array.isArray(o.options)) {
        for (const opt of o.options as { value?: string }[]) out.push(String(opt.value ?? '').split('|')[0]!);
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(x);
  return out;
}
