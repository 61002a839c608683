// A local server that answers like Slack's Web API (and takes response_url posts) and records every call:
// for the tests (test/helpers/slack.ts) and the hostile-input run (scripts/test-hostile.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RecordedCall {
  /** Web API method (chat.postEphemeral…) or "response_url". */
  method: string;
  /** Request path, e.g. /api/chat.postMessage or /response/7. */
  path: string;
  /** Parsed arguments (form fields, JSON values decoded). */
  args: Record<string, unknown>;
  /** The request body exactly as received. */
  raw: string;
  status: number;
  /** What the fake answered. */
  response: Record<string, unknown>;
  at: number;
  /** The token the call was made with (Authorization: Bearer, or a `token` argument); absent without one. */
  token?: string;
}

/** A team that can install the app through OAuth: what oauth.v2.access answers for its code. */
export interface FakeInstall {
  teamId: string;
  teamName: string;
  /** The bot token Slack issues to this install. */
  botToken: string;
  botUserId: string;
  installerId: string;
  enterpriseId?: string;
  /** Token rotation on: a refresh token and an expiry (seconds) come with the token. */
  expiresIn?: number;
}

type Answer = { status: number; headers?: Record<string, string>; body: Record<string, unknown> };

/** A stand-in for https://slack.com/api/ that records calls and answers ok:true like the real Web API. */
export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  readonly groups = new Map<string, string[]>();
  readonly users = new Map<string, string>();
  /** OAuth codes the fake accepts (oauth.v2.access), by code. */
  readonly installs = new Map<string, FakeInstall>();
  /** auth.test answers by token (an install's bot token is added when its code is exchanged). */
  readonly tokens = new Map<string, { team_id: string; user_id: string; bot_id: string; team: string }>();
  private refreshes = 0;
  /** What apps.connections.open answers (Socket Mode): the WebSocket URL of a test server. */
  socketUrl = '';
  private server?: Server;
  private port = 0;
  private seq = 0;
  private readonly rateLimits = new Map<string, number>();
  private readonly failures = new Map<string, string[]>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** A fresh response_url on this server (its posts are recorded as method "response_url"). */
  responseUrl(): string {
    return `http://127.0.0.1:${this.port}/response/${++this.seq}`;
  }

  /** The next `times` calls to `method` get HTTP 429 with Retry-After: 1. */
  rateLimit(method: string, times = 1): void {
    this.rateLimits.set(method, times);
  }

  /** The next calls to `method` answer ok:false with these errors, one per call. */
  fail(method: string, ...errors: string[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...errors]);
  }

  of(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200);
  }

  /** Waits (bounded) until `pick` finds something in the recorded calls. */
  async waitFor<T>(pick: (calls: RecordedCall[]) => T | undefined | false, timeoutMs = 10_000, what = 'an expected Slack call'): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = pick(this.calls);
      if (found) return found;
      if (Date.now() > until) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * The modal opened with `triggerId` as the user sees it once filled in: the views.open call's view, or the
   * latest views.update of that view (waits, bounded, until `ready` accepts it).
   */
  async modal(
    triggerId: string,
    ready: (view: Record<string, unknown>) => boolean = (v) => v.callback_id !== 'smtpdesk_view_notice' || !/Loading/.test(JSON.stringify(v)),
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    return this.waitFor(
      () => {
        const open = this.of('views.open').find((c) => c.args.trigger_id === triggerId);
        if (!open) return undefined;
        const id = (open.response.view as { id: string }).id;
        const updates = this.of('views.update').filter((c) => c.args.view_id === id);
        const latest = (updates.length ? updates[updates.length - 1]!.args.view : open.args.view) as Record<string, unknown>;
        const view = { ...latest, id };
        return ready(view) ? view : undefined;
      },
      timeoutMs,
      `the modal of ${triggerId}`,
    );
  }

  /** Waits for the n-th (1-based) successful call of `method`. */
  nth(method: string, n = 1, timeoutMs = 10_000): Promise<RecordedCall> {
    return this.waitFor(() => this.of(method)[n - 1], timeoutMs, `${method} #${n}`);
  }

  /** oauth.v2.access: a code of a known install, or a refresh token (token rotation). */
  private oauthAccess(args: Record<string, unknown>): Answer {
    if (args.grant_type === 'refresh_token') {
      const n = ++this.refreshes;
      return { status: 200, body: { ok: true, token_type: 'bot', access_token: `xoxe.xoxb-refreshed-${n}`, refresh_token: `xoxe-1-refresh-${n}`, expires_in: 43_200 } };
    }
    const install = this.installs.get(typeof args.code === 'string' ? args.code : '');
    if (!install || !args.client_id || !args.client_secret) return { status: 200, body: { ok: false, error: 'invalid_code' } };
    this.tokens.set(install.botToken, { team_id: install.teamId, user_id: install.botUserId, bot_id: `B${install.teamId}`, team: install.teamName });
    const rotation = install.expiresIn ? { refresh_token: `xoxe-1-refresh-${install.teamId}`, expires_in: install.expiresIn } : {};
    return {
      status: 200,
      body: {
        ok: true,
        app_id: 'A1',
        authed_user: { id: install.installerId },
        scope: 'commands,chat:write',
        token_type: 'bot',
        access_token: install.botToken,
        bot_user_id: install.botUserId,
        team: { id: install.teamId, name: install.teamName },
        enterprise: install.enterpriseId ? { id: install.enterpriseId, name: 'Org' } : null,
        is_enterprise_install: false,
        ...rotation,
      },
    };
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const isResponseUrl = url.pathname.startsWith('/response/');
    const method = isResponseUrl ? 'response_url' : url.pathname.replace(/^\/api\//, '');
    const args = parseBody(raw, String(req.headers['content-type'] ?? ''));
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    const answer = this.answer(method, args, token);
    this.calls.push({ method, path: url.pathname, args, raw, status: answer.status, response: answer.body, at: Date.now(), ...(token ? { token } : {}) });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
    res.end(JSON.stringify(answer.body));
  }

  private answer(method: string, args: Record<string, unknown>, token?: string): Answer {
    const limited = this.rateLimits.get(method);
    if (limited) {
      this.rateLimits.set(method, limited - 1);
      return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
    }
    const failure = this.failures.get(method)?.shift();
    if (failure) return { status: 200, body: { ok: false, error: failure } };
    const n = ++this.seq;
    switch (method) {
      case 'response_url':
        return { status: 200, body: { ok: true } };
      case 'apps.connections.open':
        return { status: 200, body: { ok: true, url: this.socketUrl } };
      case 'auth.test': {
        const known = token ? this.tokens.get(token) : undefined;
        if (known) return { status: 200, body: { ok: true, user: 'smtpdesk', ...known } };
        return { status: 200, body: { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'smtpdesk', team: 'Acme' } };
      }
      case 'oauth.v2.access':
        return this.oauthAccess(args);
      case 'views.open':
      case 'views.update':
      case 'views.publish': {
        const view = typeof args.view === 'object' && args.view ? (args.view as Record<string, unknown>) : {};
        const id = typeof args.view_id === 'string' ? args.view_id : `V${n}`;
        return { status: 200, body: { ok: true, view: { ...view, id, hash: `h${n}` } } };
      }
      case 'chat.postMessage':
        return { status: 200, body: { ok: true, channel: args.channel, ts: `${n}.000100`, message: { text: args.text } } };
      case 'chat.postEphemeral':
        return { status: 200, body: { ok: true, message_ts: `${n}.000200` } };
      case 'conversations.open':
        return { status: 200, body: { ok: true, channel: { id: `D${String((args.users as string | undefined) ?? 'X')}` } } };
      case 'usergroups.users.list':
        return { status: 200, body: { ok: true, users: this.groups.get(String(args.usergroup)) ?? [] } };
      case 'users.info': {
        const id = String(args.user);
        return { status: 200, body: { ok: true, user: { id, name: this.users.get(id) ?? id.toLowerCase(), real_name: id } } };
      }
      default:
        return { status: 200, body: { ok: true } };
    }
  }
}

function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
