// `npm start -- --role relay` as an operator runs it: a real process, a generated self-signed certificate
// cached under the data dir, mail accepted, and a clean exit on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createAccount, createWorkspace } from '../../src/domain/index.ts';
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { createDomainContext } from '../../src/store/index.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { admin } from '../helpers/domain.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const uri = testDatabaseUri();
const dataDir = mkdtempSync(join(tmpdir(), 'smtpdesk-relay-role-'));
let db: Database;

beforeAll(async () => {
  db = await connectDatabase(uri);
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(uri);
});

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

interface Started {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

async function startProcess(port: number): Promise<Started> {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts', '--role', 'relay'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      MONGODB_URI: uri,
      BCRYPT_COST: '4',
      SMTPDESK_DATA_DIR: dataDir,
      RELAY_HOST: '127.0.0.1',
      RELAY_PORT: String(port),
      RELAY_HOSTNAME: 'relay.test',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  child.stderr.on('data', (d: Buffer) => {
    rest += d.toString();
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 45_000;
  while (!lines.some((l) => l.code === 'ROLE_STARTED' && l.role === 'relay')) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`relay process did not start: ${JSON.stringify(lines)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, lines, exited };
}

async function stopProcess(p: Started): Promise<number | null> {
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

it('starts alone with --role relay, generates and reuses a self-signed certificate, accepts mail, stops on SIGTERM', async () => {
  const ctx = createDomainContext(db, { bcryptCost: 4 });
  const ws = await createWorkspace(ctx, admin, { name: 'role-test', planId: '10k', defaultPlan: '10k' });
  const acct = await createAccount(ctx, admin, ws.id, 'role-test-app');
  const port = await freePort();

  const first = await startProcess(port);
  let certPem: string;
  try {
    const started = first.lines.find((l) => l.code === 'ROLE_STARTED')!;
    expect(started.msg).toBe(`SMTP relay on 127.0.0.1:${port} (STARTTLS), self-signed certificate (development)`);
    expect(first.lines.some((l) => l.code === 'RELAY_TLS_SELF_SIGNED')).toBe(true);
    certPem = readFileSync(join(dataDir, 'tls', 'relay-self-signed.cert.pem'), 'utf8');

    const info = await nodemailer
      .createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: acct.username, pass: acct.password } })
      .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'from the role', text: 'hi' });
    expect(info.response).toMatch(/^250 2\.6\.0 Queued as [0-9a-f]{24}$/);
    expect(await db.models.queuedMessages.countDocuments({ accountId: acct.account.id })).toBe(1);
  } finally {
    expect(await stopProcess(first)).toBe(0);
  }
  expect(first.lines.map((l) => l.code)).toEqual(expect.arrayContaining(['RELAY_SHUTDOWN', 'RELAY_STOPPED']));

  // A second start reuses the cached certificate.
  const second = await startProcess(port);
  try {
    expect(second.lines.some((l) => l.code === 'RELAY_TLS_SELF_SIGNED')).toBe(false);
    expect(readFileSync(join(dataDir, 'tls', 'relay-self-signed.cert.pem'), 'utf8')).toBe(certPem!);
  } finally {
    expect(await stopProcess(second)).toBe(0);
  }
}, 120_000);

it('refuses to start on a port already taken, in one line that names the port and the variable to change', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  const port = (taken.address() as { port: number }).port;
  try {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts', '--role', 'relay'], {
      cwd: ROOT,
      env: { ...process.env, LOG_FORMAT: 'json', MONGODB_URI: uri, SMTPDESK_DATA_DIR: dataDir, RELAY_HOST: '127.0.0.1', RELAY_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    clearTimeout(kill);
    expect(code).toBe(1);
    // The JSON log lines are flushed on their own schedule; the failure line is the one plain line.
    const plain = stderr.split('\n').filter((l) => l.startsWith('smtpdesk failed to start'));
    expect(plain).toEqual([
      `smtpdesk failed to start: relay cannot listen on 127.0.0.1:${port}: the port is already in use (another smtpdesk, or another server?). Stop it, or set RELAY_PORT to a free port.`,
    ]);
    // No stack trace: the line is the whole story.
    expect(stderr).not.toMatch(/\n\s+at /);
  } finally {
    taken.close();
  }
}, 60_000);
