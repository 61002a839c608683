// The rate limit shared by two relays that share nothing but the database: this test process's relay and a
// separate `--role relay` process, driven by nodemailer and by Python's smtplib.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { setSendingPolicy } from '../../src/domain/index.ts';
import { admin } from '../helpers/domain.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let t: TestRelay;
let child: ChildProcess | undefined;
let otherPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  t = await startTestRelay();
  otherPort = await freePort();
  child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts', '--role', 'relay'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      MONGODB_URI: t.rt.config.database.uri,
      BCRYPT_COST: '4',
      SMTPDESK_DATA_DIR: mkdtempSync(join(tmpdir(), 'smtpdesk-rate-process-')),
      RELAY_HOST: '127.0.0.1',
      RELAY_PORT: String(otherPort),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const until = Date.now() + 45_000;
  while (!log.includes('"ROLE_STARTED"')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`relay process did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await t?.close();
});

/** Sends one message with Python's smtplib over STARTTLS; prints "ok" or the refusal "CODE TEXT". */
function pythonSend(port: number, user: string, password: string, to: string[]): Promise<string> {
  const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', ${port}, timeout=20)
s.starttls(context=ctx); s.login(sys.argv[1], sys.argv[2])
try:
    s.sendmail('app@example.com', sys.argv[3:], 'From: app@example.com\\r\\nSubject: py\\r\\n\\r\\nhi\\r\\n')
    print('ok')
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print(code, text.decode())
s.quit()
`;
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', script, user, password, ...to], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
  });
}

it('3/m over an in-process relay and a separate relay process: three recipients pass, the fourth gets 451 4.7.1', async () => {
  const acct = await t.newAccount();
  await setSendingPolicy(t.rt.ctx, admin, t.workspace.id, acct.name, { rateLimit: { limit: 3, per: 'm' } });
  const s = new Date().getSeconds();
  if (s > 45) await new Promise((r) => setTimeout(r, (61 - s) * 1000));

  const here = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.port,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: acct.username, pass: acct.password },
  });
  expect((await here.sendMail({ from: 'app@example.com', to: ['a@example.org', 'b@example.org'], text: 'x' })).accepted).toHaveLength(2);
  expect(await pythonSend(otherPort, acct.username, acct.password, ['c@example.org'])).toBe('ok');
  expect(await pythonSend(otherPort, acct.username, acct.password, ['d@example.org'])).toMatch(/^451 4\.7\.1 Rate limit of smtp-\w+ reached \(3 recipients per minute\)/);
  const err = (await here.sendMail({ from: 'app@example.com', to: 'e@example.org', text: 'x' }).catch((e: unknown) => e)) as { responseCode?: number };
  expect(err.responseCode).toBe(451);
}, 90_000);
