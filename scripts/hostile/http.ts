// The HTTP cases of test:hostile against the HTTP role: garbage, huge and slow requests, signed admin webhooks
// (unsigned, forged, stale, replayed, for another body, oversized), /metrics; a case can then check with an
// SMTP AUTH that a webhook took effect.
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { signedHeaders } from '../../src/shared/signing.ts';
import { RawSmtp } from '../lib/raw-smtp.ts';
import { describe, httpCall, matches, plain, render, statusMatches, vars, type CaseResult, type HostileContext, type HttpResult, type Sendable } from './harness.ts';

export interface HttpCase {
  id: string;
  group: string;
  about: string;
  request?: { method: string; path: string; sign?: string; json?: unknown; body?: Sendable; chunked?: boolean };
  raw?: Sendable;
  dribble?: Sendable;
  intervalMs?: number;
  maxMs?: number;
  repeat?: number;
  expect: number | string | (number | string)[];
  capturePassword?: boolean;
  thenAuth?: { account: string; expect: string };
}

function rawHttp(port: number, data: string, dribble?: { intervalMs: number; maxMs: number }): Promise<HttpResult> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    let buf = '';
    let settled = false;
    const done = (r: HttpResult) => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve(r);
    };
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) done({ status: Number(m[1]), body: buf });
    });
    s.on('close', () => done({ status: 'closed', body: buf }));
    s.on('error', () => done({ status: 'closed', body: buf }));
    const hardStop = setTimeout(() => done({ status: 'timeout', body: buf }), (dribble?.maxMs ?? 10_000) + 5_000);
    hardStop.unref();
    s.on(
      'connect',
      () =>
        void (async () => {
          if (!dribble) return void s.write(Buffer.from(data, 'latin1'));
          const until = Date.now() + dribble.maxMs;
          for (const ch of data) {
            if (settled || Date.now() > until) break;
            s.write(ch);
            await new Promise((r) => setTimeout(r, dribble.intervalMs));
          }
        })(),
    );
  });
}

export async function runHttpCase(ctx: HostileContext, c: HttpCase): Promise<CaseResult> {
  const { creds, secrets, metricsBodies, webhookSecret: WEBHOOK_SECRET } = ctx;
  const v = vars(ctx, `${c.id}-${randomBytes(4).toString('hex')}@hostile.test`);
  if (c.raw !== undefined || c.dribble !== undefined) {
    const r = await rawHttp(ctx.httpPort, render((c.raw ?? c.dribble)!, v), c.dribble ? { intervalMs: c.intervalMs ?? 100, maxMs: c.maxMs ?? 20_000 } : undefined);
    return { pass: statusMatches(r.status, c.expect as number | string), got: [String(r.status)], expected: [String(c.expect)] };
  }
  const rq = c.request!;
  const bodyText = rq.json !== undefined ? render(JSON.stringify(rq.json), v) : rq.body !== undefined ? render(rq.body, v) : '';
  const body = rq.method === 'GET' ? null : Buffer.from(bodyText);
  const deliveryId = `hostile-${c.id}-${randomBytes(6).toString('hex')}`;
  const now = Date.now();
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  if (body) {
    switch (rq.sign) {
      case 'valid':
        headers = signedHeaders(WEBHOOK_SECRET, body, { deliveryId });
        break;
      case 'forged':
        headers = signedHeaders(`not-${WEBHOOK_SECRET}`, body, { deliveryId });
        break;
      case 'stale':
        headers = signedHeaders(WEBHOOK_SECRET, body, { deliveryId, now: new Date(now - 10 * 60_000) });
        break;
      case 'future':
        headers = signedHeaders(WEBHOOK_SECRET, body, { deliveryId, now: new Date(now + 10 * 60_000) });
        break;
      case 'other-body':
        headers = signedHeaders(WEBHOOK_SECRET, Buffer.from('{"action":"enable"}'), { deliveryId });
        break;
      case 'garbage':
        headers = { ...signedHeaders(WEBHOOK_SECRET, body, { deliveryId }), 'x-smtpdesk-signature': 'v1=zzzz-not-hex' };
        break;
      default:
        headers['x-smtpdesk-delivery'] = deliveryId;
    }
  }
  const exps = Array.isArray(c.expect) ? c.expect : [c.expect];
  const got: string[] = [];
  let pass = true;
  for (let i = 0; i < (c.repeat ?? 1); i++) {
    const r = await httpCall(rq.method, rq.path, headers, body, { port: ctx.httpPort, chunked: rq.chunked });
    got.push(String(r.status));
    if (!statusMatches(r.status, exps[i] ?? exps[exps.length - 1]!)) pass = false;
    if (c.capturePassword && typeof r.status === 'number' && r.status === 200) {
      const pw = JSON.parse(r.body) as { password?: string; account?: { password?: string } };
      const found = pw.password ?? pw.account?.password;
      if (found) secrets.add(found);
      else {
        got.push('no password in answer');
        pass = false;
      }
    }
    if (rq.path === '/metrics' && typeof r.status === 'number') metricsBodies.push(r.body);
  }
  if (c.thenAuth) {
    const acct = creds.get(c.thenAuth.account)!;
    const s = await RawSmtp.connect(ctx.relayPort, { localAddress: '127.0.0.31' });
    await s.read();
    s.write('EHLO x\r\n');
    await s.read();
    s.write(`AUTH PLAIN ${plain(acct.username, acct.password)}\r\n`);
    const r = await s.read();
    s.close();
    got.push(`auth ${describe(r)}`);
    if (!matches(r, c.thenAuth.expect)) pass = false;
  }
  return { pass, got, expected: exps.map(String) };
}
