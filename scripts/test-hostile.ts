// npm run test:hostile — the corpus in scripts/hostile/corpus.json against a live relay, HTTP role and
// Slack role (each its own process, logs captured), loopback only. Fails on any answer other than the
// one a case expects, on a crash, or on a password or secret found in the server logs.
//
// Flags: --only ID[,ID] (run some cases), --group G, --keep (keep the logs folder and print its path)
import { randomBytes, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/store/connection.ts';
import { signedHeaders } from '../src/shared/signing.ts';
import { FakeSlackApi } from './lib/fake-slack-api.ts';
import { RawSmtp, type ReadResult } from './lib/raw-smtp.ts';
import { freePort, ROOT } from './lib/peers.ts';
import { bootstrap, openDatabase, roleProcess, type Credentials, type RoleProcess } from './lib/smtpdesk.ts';
import { table } from './lib/report.ts';

type Part = string | { repeat: string; times: number };
type Sendable = Part | Part[];
type Expect = string | number | { reply: string; text?: string };

interface SmtpStep {
  send?: Sendable;
  expect?: Expect | Expect[];
  times?: number;
  timeoutMs?: number;
  starttls?: boolean;
  close?: boolean;
  wait?: number;
  queued?: string;
  count?: number;
  dribble?: Sendable;
  intervalMs?: number;
  maxMs?: number;
  sendRcpts?: number;
  expectEach?: string;
}
interface SmtpCase {
  id: string;
  group: string;
  about: string;
  session?: 'raw' | 'greeted' | 'ehlo' | 'authed';
  from?: string;
  steps?: SmtpStep[];
  smuggle?: string;
  kind?: string;
}
interface HttpCase {
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
interface SlackCase {
  id: string;
  group: string;
  about: string;
  sign: string;
  expect: number | string;
}
interface Corpus {
  smtp: SmtpCase[];
  http: HttpCase[];
  slack: SlackCase[];
}
interface Outcome {
  id: string;
  group: string;
  expected: string;
  got: string;
  pass: boolean;
  ms: number;
  about: string;
}

const { values: flags } = parseArgs({ options: { only: { type: 'string' }, group: { type: 'string' }, keep: { type: 'boolean' } }, strict: true });
const only = flags.only ? new Set(flags.only.split(',')) : null;
const selected = (c: { id: string; group: string }) => (!only || only.has(c.id)) && (!flags.group || c.group === flags.group);

const SOCKET_TIMEOUT_S = 5;
const MAX_CLIENTS = 30;
const WEBHOOK_SECRET = `whsec-${randomBytes(18).toString('hex')}`;
const SLACK_SECRET = `slacksec-${randomBytes(18).toString('hex')}`;
const secrets = new Set<string>([WEBHOOK_SECRET, SLACK_SECRET]);

function render(s: Sendable, vars: (name: string, arg?: string) => string): string {
  const parts = Array.isArray(s) ? s : [s];
  return parts.map((p) => (typeof p === 'string' ? p.replace(/\$\{(\w+)(?::([\w-]+))?\}/g, (_, n: string, a?: string) => vars(n, a)) : p.repeat.repeat(p.times))).join('');
}

function describe(r: ReadResult): string {
  if (typeof r === 'string') return r;
  const first = r.text.split('\n').pop() ?? '';
  return `${r.code} ${first.slice(0, 60)}`;
}

/** Whether a read result matches an expectation such as "5xx|421|closed", "535" or {reply, text}. */
function matches(r: ReadResult, e: Expect): boolean {
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

async function main(): Promise<void> {
  const corpus = JSON.parse(readFileSync(join(ROOT, 'scripts', 'hostile', 'corpus.json'), 'utf8')) as Corpus;
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-hostile-'));
  const logDir = join(work, 'logs');
  process.stderr.write(`test:hostile — ${corpus.smtp.length + corpus.http.length + corpus.slack.length} cases; logs in ${logDir}\n`);

  const db = await openDatabase(`hostile${Date.now()}`, join(work, 'ferretdb'));
  const accountNames = ['hostile', 'victim', 'victim2', 'victim3', 'victim4', 'victim5'];
  const creds = new Map<string, Credentials>((await bootstrap(db.uri, 'hostile', accountNames)).map((c) => [c.name, c]));
  for (const c of creds.values()) secrets.add(c.password);
  const main = creds.get('hostile')!;
  const store = await connectDatabase(db.uri, { ensureIndexes: false });

  const slackApi = await new FakeSlackApi().start();
  const relayPort = await freePort();
  const httpPort = await freePort();
  const slackPort = await freePort();
  const env = {
    MONGODB_URI: db.uri,
    SMTPDESK_DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'debug',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(relayPort),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
    RELAY_SOCKET_TIMEOUT_SECONDS: String(SOCKET_TIMEOUT_S),
    RELAY_MAX_CLIENTS: String(MAX_CLIENTS),
    RELAY_MAX_MESSAGE_SIZE: '1mb',
    RELAY_BRUTE_FORCE_SLOW_AFTER: '5',
    RELAY_BRUTE_FORCE_BLOCK_AFTER: '8',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    HTTP_REQUEST_TIMEOUT_SECONDS: '5',
    ADMIN_WEBHOOK_SECRETS: `hostile:${WEBHOOK_SECRET}`,
    SLACK_BOT_TOKEN: `xoxb-hostile-${randomBytes(8).toString('hex')}`,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: slackApi.apiUrl,
    SLACK_PORT: String(slackPort),
  };
  secrets.add(env.SLACK_BOT_TOKEN);
  const procs: Record<string, RoleProcess> = {
    relay: roleProcess({ role: 'relay', env, logDir, port: relayPort }),
    http: roleProcess({ role: 'http', env, logDir, port: httpPort }),
    slack: roleProcess({ role: 'slack', env, logDir, port: slackPort }),
  };
  const slackAvailable = /\bslack:\s*async/.test(readFileSync(join(ROOT, 'src', 'roles.ts'), 'utf8'));
  for (const [name, p] of Object.entries(procs)) {
    if (name === 'slack' && !slackAvailable) continue;
    await p.start();
  }

  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const plain = (u: string, p: string) => b64(`\0${u}\0${p}`);
  const tokens: string[] = [];
  const vars = (mid: string) => (name: string, arg?: string): string => {
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
  tokens.push(plain(main.username, main.password));

  const queuedCount = async (mid: string) => store.models.queuedMessages.countDocuments({ messageId: `<${mid}>` });

  async function session(c: SmtpCase): Promise<RawSmtp> {
    const s = await RawSmtp.connect(relayPort, c.from ? { localAddress: c.from } : {});
    const kind = c.session ?? 'authed';
    if (kind === 'raw') return s;
    const greet = await s.read(5000);
    if (!matches(greet, '220')) throw new Error(`greeting: ${describe(greet)}`);
    if (kind === 'greeted') return s;
    s.write('EHLO hostile.test\r\n');
    const ehlo = await s.read();
    if (!matches(ehlo, '250')) throw new Error(`EHLO: ${describe(ehlo)}`);
    if (kind === 'ehlo') return s;
    s.write(`AUTH PLAIN ${plain(main.username, main.password)}\r\n`);
    const auth = await s.read();
    if (!matches(auth, '235')) throw new Error(`AUTH: ${describe(auth)}`);
    return s;
  }

  function smuggleSteps(seq: string): SmtpStep[] {
    return [
      { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
      { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
      { send: 'DATA\r\n', expect: '354' },
      {
        send:
          '${MSG}' +
          seq +
          'MAIL FROM:<evil@evil.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\n' +
          'From: <ceo@x.test>\r\nSubject: smuggled\r\nMessage-ID: <smuggled-${MID}>\r\n\r\nwire the money\r\n.\r\n',
        expect: '5xx',
      },
      // Had the server ended the message at the smuggling sequence, the smuggled commands' answers follow.
      { expect: 'timeout', timeoutMs: 1500 },
      { queued: '${MID}', count: 0 },
      { queued: 'smuggled-${MID}', count: 0 },
    ];
  }

  async function runSmtpSteps(c: SmtpCase, steps: SmtpStep[], mid: string): Promise<{ pass: boolean; got: string[]; expected: string[] }> {
    const got: string[] = [];
    const expected: string[] = [];
    const v = vars(mid);
    let s: RawSmtp;
    try {
      s = await session(c);
    } catch (err) {
      return { pass: false, got: [`session: ${(err as Error).message}`], expected: ['session'] };
    }
    try {
      for (const step of steps) {
        for (let i = 0; i < (step.times ?? 1); i++) {
          if (step.close) s.close();
          if (step.wait) await new Promise((r) => setTimeout(r, step.wait));
          if (step.starttls) {
            try {
              await s.starttls();
            } catch (err) {
              got.push(`tls failed: ${(err as Error).message}`);
              return { pass: false, got, expected };
            }
          }
          if (step.dribble !== undefined) await s.dribble(render(step.dribble, v), step.intervalMs ?? 500, step.maxMs ?? 10_000);
          if (step.sendRcpts) {
            s.write(Array.from({ length: step.sendRcpts }, (_, k) => `RCPT TO:<r${k}@x.test>\r\n`).join(''));
            for (let k = 0; k < step.sendRcpts; k++) {
              const r = await s.read(step.timeoutMs ?? 10_000);
              if (!matches(r, step.expectEach ?? '250')) {
                got.push(`rcpt ${k + 1}: ${describe(r)}`);
                expected.push(step.expectEach ?? '250');
                return { pass: false, got, expected };
              }
            }
          }
          if (step.send !== undefined) s.write(render(step.send, v));
          if (step.expect !== undefined) {
            const exps = Array.isArray(step.expect) ? step.expect : [step.expect];
            for (const e of exps) {
              const spec = typeof e === 'object' ? e.reply : String(e);
              const silent = /^silent:(\d+)$/.exec(spec);
              const r = await s.read(silent ? Number(silent[1]) : (step.timeoutMs ?? 10_000));
              const ok = silent ? r === 'timeout' : matches(r, e);
              got.push(silent && r === 'timeout' ? 'silent' : describe(r));
              expected.push(spec);
              if (!ok) return { pass: false, got, expected };
            }
          }
          if (step.queued !== undefined) {
            const id = render(step.queued, v);
            await new Promise((r) => setTimeout(r, 300));
            const n = await queuedCount(id);
            got.push(`queued ${n}`);
            expected.push(`queued ${step.count ?? 0}`);
            if (n !== (step.count ?? 0)) return { pass: false, got, expected };
          }
        }
      }
      return { pass: true, got, expected };
    } finally {
      s.close();
    }
  }

  async function maxClients(): Promise<{ pass: boolean; got: string[]; expected: string[] }> {
    const held: RawSmtp[] = [];
    const got: string[] = [];
    try {
      for (let i = 0; i < MAX_CLIENTS; i++) {
        const s = await RawSmtp.connect(relayPort);
        held.push(s);
        await s.read(3000);
      }
      const extra: ReadResult[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await RawSmtp.connect(relayPort);
        held.push(s);
        extra.push(await s.read(3000));
      }
      got.push(`extra: ${extra.map(describe).join(', ')}`);
      const refused = extra.every((r) => matches(r, '421|closed'));
      for (const s of held) s.close();
      await new Promise((r) => setTimeout(r, 500));
      const again = await RawSmtp.connect(relayPort);
      const g = await again.read(3000);
      again.close();
      got.push(`after: ${describe(g)}`);
      return { pass: refused && matches(g, '220'), got, expected: ['421 past the limit', '220 after'] };
    } finally {
      for (const s of held) s.close();
    }
  }

  async function slowlorisWhileServing(): Promise<{ pass: boolean; got: string[]; expected: string[] }> {
    const slow: RawSmtp[] = [];
    const dribbles: Promise<number>[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const s = await RawSmtp.connect(relayPort);
        slow.push(s);
        await s.read(3000);
        dribbles.push(s.dribble(`EHLO ${'z'.repeat(100)}`, 300, 15_000));
      }
      const mid = `slow-${randomBytes(6).toString('hex')}@hostile.test`;
      const t0 = Date.now();
      const r = await runSmtpSteps({ id: 'served', group: 'slow', about: '', session: 'authed' }, [
        { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
        { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
        { send: 'DATA\r\n', expect: '354' },
        { send: '${MSG}\r\n.\r\n', expect: '250' },
      ], mid);
      const ms = Date.now() - t0;
      return { pass: r.pass && ms < 10_000, got: [...r.got.slice(-1), `${ms} ms`], expected: ['250 within 10 s'] };
    } finally {
      for (const s of slow) s.close();
      await Promise.allSettled(dribbles);
    }
  }

  // --- HTTP ------------------------------------------------------------------------------------------------
  interface HttpResult {
    status: number | 'closed' | 'timeout';
    body: string;
  }

  function httpCall(method: string, path: string, headers: Record<string, string>, body: Buffer | null, chunked = false, port = httpPort): Promise<HttpResult> {
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

  function rawHttp(data: string, dribble?: { intervalMs: number; maxMs: number }): Promise<HttpResult> {
    return new Promise((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: httpPort });
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
      s.on('connect', async () => {
        if (!dribble) return void s.write(Buffer.from(data, 'latin1'));
        const until = Date.now() + dribble.maxMs;
        for (const ch of data) {
          if (settled || Date.now() > until) break;
          s.write(ch);
          await new Promise((r) => setTimeout(r, dribble.intervalMs));
        }
      });
    });
  }

  const statusMatches = (got: HttpResult['status'], exp: number | string) =>
    String(exp)
      .split('|')
      .some((alt) => String(got) === alt);

  async function runHttp(c: HttpCase): Promise<{ pass: boolean; got: string[]; expected: string[] }> {
    const v = vars(`${c.id}-${randomBytes(4).toString('hex')}@hostile.test`);
    if (c.raw !== undefined || c.dribble !== undefined) {
      const r = await rawHttp(render((c.raw ?? c.dribble)!, v), c.dribble ? { intervalMs: c.intervalMs ?? 100, maxMs: c.maxMs ?? 20_000 } : undefined);
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
      const r = await httpCall(rq.method, rq.path, headers, body, rq.chunked);
      got.push(String(r.status));
      if (!statusMatches(r.status, exps[i] ?? exps[exps.length - 1]!)) pass = false;
      if (c.capturePassword && typeof r.status === 'number' && r.status === 200) {
        const pw = (JSON.parse(r.body) as { password?: string; account?: { password?: string } });
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
      const s = await RawSmtp.connect(relayPort, { localAddress: '127.0.0.31' });
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
  const metricsBodies: string[] = [];

  async function runSlack(c: SlackCase): Promise<{ pass: boolean; got: string[]; expected: string[] }> {
    const body = new URLSearchParams({
      token: 'unused',
      team_id: 'THOSTILE',
      team_domain: 'hostile',
      channel_id: 'CHOSTILE',
      user_id: 'UHOSTILE',
      user_name: 'mallory',
      command: '/smtp',
      text: 'help',
      response_url: `${slackApi.apiUrl.replace(/\/api\/?$/, '')}/response/1`,
      trigger_id: '1.2.3',
    }).toString();
    const ts = Math.floor(Date.now() / 1000) - (c.sign === 'stale' ? 600 : 0);
    const sig = (secret: string) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (c.sign !== 'none') {
      headers['x-slack-request-timestamp'] = String(ts);
      headers['x-slack-signature'] = sig(c.sign === 'forged' ? `x${SLACK_SECRET}` : SLACK_SECRET);
    }
    const r = await httpCall('POST', '/slack/events', headers, Buffer.from(body), false, slackPort);
    return { pass: statusMatches(r.status, c.expect), got: [String(r.status)], expected: [String(c.expect)] };
  }

  // --- run ---------------------------------------------------------------------------------------------------
  const outcomes: Outcome[] = [];
  async function record(c: { id: string; group: string; about: string }, run: () => Promise<{ pass: boolean; got: string[]; expected: string[] }>) {
    const t0 = Date.now();
    let r: { pass: boolean; got: string[]; expected: string[] };
    try {
      r = await run();
    } catch (err) {
      r = { pass: false, got: [`harness error: ${(err as Error).message}`], expected: [] };
    }
    // A case that took a server down fails, whatever it saw; the server is started again for the next case.
    for (const [name, p] of Object.entries(procs)) {
      if (name === 'slack' && !slackAvailable) continue;
      if (!p.running()) {
        r.pass = false;
        r.got.push(`${name} CRASHED`);
        await p.start().catch(() => undefined);
      }
    }
    outcomes.push({ id: c.id, group: c.group, about: c.about, expected: r.expected.join(' '), got: r.got.join(' '), pass: r.pass, ms: Date.now() - t0 });
    process.stderr.write(`${r.pass ? 'pass' : 'FAIL'}  ${c.id.padEnd(32)} ${r.got.join(' | ').slice(0, 100)}\n`);
  }

  for (const c of corpus.smtp.filter(selected)) {
    const mid = `${c.id}-${randomBytes(6).toString('hex')}@hostile.test`;
    if (c.kind === 'max-clients') await record(c, maxClients);
    else if (c.kind === 'slowloris-while-serving') await record(c, slowlorisWhileServing);
    else await record(c, () => runSmtpSteps(c, c.smuggle !== undefined ? smuggleSteps(c.smuggle) : c.steps ?? [], mid));
  }
  for (const c of corpus.http.filter(selected)) await record(c, () => runHttp(c));
  for (const c of corpus.slack.filter(selected)) {
    if (!slackAvailable) {
      outcomes.push({ id: c.id, group: c.group, about: c.about, expected: String(c.expect), got: 'slack role not in this build', pass: false, ms: 0 });
      continue;
    }
    await record(c, () => runSlack(c));
  }

  // Final control: the relay still takes a clean message.
  await record({ id: 'after-all-still-serving', group: 'control', about: 'after everything, a clean message is accepted' }, () =>
    runSmtpSteps({ id: 'final', group: 'control', about: '', session: 'authed' }, [
      { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
      { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
      { send: 'DATA\r\n', expect: '354' },
      { send: '${MSG}\r\n.\r\n', expect: '250' },
    ], `final-${randomBytes(6).toString('hex')}@hostile.test`),
  );

  for (const p of Object.values(procs)) await p.stop();
  await store.close();
  await slackApi.close();
  await db.dispose();

  // --- leaks: no password, secret or AUTH token in any log line (or in /metrics) ---------------------------
  const texts: [string, string][] = [];
  if (existsSync(logDir)) for (const f of readdirSync(logDir)) texts.push([f, readFileSync(join(logDir, f), 'latin1')]);
  metricsBodies.forEach((b, i) => texts.push([`metrics#${i + 1}`, b]));
  const leaks: string[] = [];
  for (const secret of [...secrets, ...tokens]) {
    for (const [f, t] of texts) if (secret.length >= 8 && t.includes(secret)) leaks.push(`${f} contains ${secret.slice(0, 4)}…`);
  }
  outcomes.push({
    id: 'no-secret-in-logs',
    group: 'logs',
    about: `${secrets.size + tokens.length} passwords, secrets and AUTH tokens searched in ${texts.length} logs`,
    expected: 'none found',
    got: leaks.length ? leaks.join('; ') : `none found (${fmtBytes(texts.reduce((n, [, t]) => n + t.length, 0))} of logs)`,
    pass: leaks.length === 0,
    ms: 0,
  });

  // --- summary ---------------------------------------------------------------------------------------------------
  const failed = outcomes.filter((o) => !o.pass);
  process.stdout.write(
    `\n${table(outcomes, [
      { header: 'case', value: (o) => o.id },
      { header: 'group', value: (o) => o.group },
      { header: 'expected', value: (o) => o.expected.slice(0, 28) },
      { header: 'got', value: (o) => o.got.replace(/\s+/g, ' ').slice(0, 44) },
      { header: '', value: (o) => (o.pass ? 'pass' : 'FAIL') },
    ])}\n`,
  );
  process.stdout.write(`\nhostile: ${outcomes.length - failed.length} passed, ${failed.length} failed\n`);
  if (flags.keep || failed.length) process.stdout.write(`server logs: ${logDir}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.exitCode = failed.length ? 1 : 0;
}

function fmtBytes(n: number): string {
  return n > 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`;
}

main().catch((err) => {
  process.stderr.write(`test:hostile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
