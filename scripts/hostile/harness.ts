// What the protocol cases of test:hostile share: the corpus's placeholders and expectations, the running
// servers and credentials (HostileContext), the secrets the log scan looks for, and a plain HTTP call.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { ReadResult } from '../lib/raw-smtp.ts';
import type { Credentials } from '../lib/smtpdesk.ts';

export type Part = string | { repeat: string; times: number };
export type Sendable = Part | Part[];
export type Expect = string | number | { reply: string; text?: string };

/** What one case saw against what it expected. */
export interface CaseResult {
  pass: boolean;
  got: string[];
  expected: string[];
}

export interface HostileContext {
  relayPort: number;
  httpPort: number;
  slackPort: number;
  /** RELAY_MAX_CLIENTS the relay was started with. */
  maxClients: number;
  webhookSecret: string;
  slackSecret: string;
  /** The fake Slack Web API the Slack role talks to. */
  slackApiUrl: string;
  /** Every account by name; `main` is the one sessions authenticate as. */
  creds: Map<string, Credentials>;
  main: Credentials;
  /** Passwords and secrets that must appear in no log; cases add the ones they make up. */
  secrets: Set<string>;
  /** AUTH tokens sent, searched for in the logs as well. */
  tokens: string[];
  /** Bodies of /metrics answers, searched for secrets as well. */
  metricsBodies: string[];
  /** Queued messages with this Message-ID (without the angle brackets). */
  queuedCount(mid: string): Promise<number>;
}

export function render(s: Sendable, vars: (name: string, arg?: string) => string): string {
  const parts = Array.isArray(s) ? s : [s];
  return parts.map((p) => (typeof p === 'string' ? p.replace(/\$\{(\w+)(?::([\w-]+))?\}/g, (_, n: string, a?: string) => vars(n, a)) : p.repeat.repeat(p.times))).join('');
}

export function describe(r: ReadResult): string {
  if (typeof r === 'string') return r;
  const first = r.text.split('\n').pop() ?? '';
  return `${r.code} ${first.slice(0, 60)}`;
}

/** Whether a read result matches an expectation such as "5xx|421|closed", "535" or {reply, text}. */
export function matches(r: ReadResult, e: Expect): boolean {
  const spec = typeof e === 'object' ? e.reply : String(e);
  const textRe = typeof e === 'object' && e.text ? new RegExp(e.text) : null;
  return spec.split('|').some((alt) => {
    if (alt === 'closed') return r === 'closed';
    if (alt === 'timeout') return r === 'timeout';
    if (typeof r === 'string') return false;
    const ok = /^\dxx$/.test(alt) ? Math.floor(r.code / 100) === Number(alt[0]) : r.code === Number(alt);
    return ok && (!textRe || textRe.test(r.text.split('\n').pop() ?? ''));
  });
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** An AUTH PLAIN token. */
export const plain = (u: string, p: string) => b64(`\0${u}\0${p}`);

/** The corpus's placeholders (${AUTH_PLAIN}, ${MID}, ${USERNAME:victim}…) for a case whose message is `mid`. */
export const vars =
  (ctx: HostileContext, mid: string) =>
  (name: string, arg?: string): string => {
    const { creds, main, secrets, tokens } = ctx;
    switch (name) {
      case 'AUTH_PLAIN':
        return plain(main.username, main.password);
      case 'AUTH_PLAIN_WRONG': {
        const c = creds.get(arg ?? 'victim')!;
        const wrong = `${c.password.slice(0, -2)}xx`;
        secrets.add(wrong); // a near-miss password is as sensitive as the real one
        const t = plain(c.username, wrong);
        tokens.push(t);
        return t;
      }
      case 'AUTH_PLAIN_UNKNOWN': {
        const pw = `unknown-${randomBytes(9).toString('hex')}`;
        secrets.add(pw);
        const t = plain(`nobody${randomBytes(4).toString('hex')}`, pw);
        tokens.push(t);
        return t;
      }
      case 'USER_B64':
        return b64(main.username);
      case 'USERNAME':
        return creds.get(arg ?? 'hostile')!.username;
      case 'MID':
        return mid;
      case 'MSG':
        return `From: <a@x.test>\r\nTo: <b@x.test>\r\nSubject: hostile ${mid}\r\nMessage-ID: <${mid}>\r\n\r\nbody of ${mid}`;
      default:
        throw new Error(`unknown placeholder \${${name}}`);
    }
  };

export interface HttpResult {
  status: number | 'closed' | 'timeout';
  body: string;
}

export function httpCall(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | null,
  opts: { port: number; chunked?: boolean | undefined },
): Promise<HttpResult> {
  const { port, chunked = false } = opts;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: HttpResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const h: Record<string, string> = { ...headers };
    if (body && !chunked) h['content-length'] = String(body.length);
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: h, agent: false, timeout: 15_000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: data }));
      res.on('error', () => done({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', () => done({ status: 'closed', body: '' }));
    req.on('timeout', () => {
      req.destroy();
      done({ status: 'timeout', body: '' });
    });
    if (body) {
      if (chunked) {
        for (let off = 0; off < body.length; off += 16_384) req.write(body.subarray(off, off + 16_384));
      } else req.write(body);
    }
    req.end();
  });
}

/** An HTTP status against "413", "400|413|closed" and the like. */
export const statusMatches = (got: HttpResult['status'], exp: number | string) =>
  String(exp)
    .split('|')
    .some((alt) => String(got) === alt);
