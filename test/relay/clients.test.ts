// Real SMTP clients other than nodemailer: swaks (Debian package, installed by .ci/run) and Python's smtplib,
// over STARTTLS on the submission port and over implicit TLS.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { storedBody } from '../helpers/queue.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

const run = promisify(execFile);
const hasSwaks = spawnSync('swaks', ['--version']).status === 0;
const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasSwaks) console.warn('swaks is not installed (apt-get install swaks; .ci/run does it): skipping the swaks tests');
if (!hasPython) console.warn('python3 is not installed: skipping the smtplib tests');

let t: TestRelay;
let account: { username: string; password: string; accountId: string };
beforeAll(async () => {
  t = await startTestRelay({ relay: { implicitTlsPort: 0 } });
  account = await t.newAccount();
});
afterAll(async () => {
  await t?.close();
});

async function storedSubject(queueId: string): Promise<string | undefined> {
  const doc = await t.rt.db.models.queuedMessages.findById(queueId).lean();
  return doc?.subject ?? undefined;
}

function swaks(args: string[]) {
  return run('swaks', ['--server', '127.0.0.1', '--ehlo', 'client.test', '--from', 'app@example.com', '--to', 'someone@example.org', '--timeout', '20', ...args], {
    timeout: 30_000,
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: err.stdout ?? '' }),
  );
}

describe.skipIf(!hasSwaks)('swaks', () => {
  it.each(['PLAIN', 'LOGIN'])('STARTTLS + AUTH %s: queued', async (method) => {
    const r = await swaks([
      '--port',
      String(t.port),
      '--tls',
      '--auth',
      method,
      '--auth-user',
      account.username,
      '--auth-password',
      account.password,
      '--header',
      `Subject: swaks ${method}`,
      '--body',
      'hello from swaks',
    ]);
    expect(r.code).toBe(0);
    const id = /250 2\.6\.0 Queued as ([0-9a-f]{24})/.exec(r.out)?.[1];
    expect(id).toBeDefined();
    expect(await storedSubject(id!)).toBe(`swaks ${method}`);
  });

  it('implicit TLS port: queued', async () => {
    const r = await swaks([
      '--port',
      String(t.relay.implicitTlsPort),
      '--tls-on-connect',
      '--auth',
      'PLAIN',
      '--auth-user',
      account.username,
      '--auth-password',
      account.password,
      '--header',
      'Subject: swaks implicit',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/250 2\.6\.0 Queued as [0-9a-f]{24}/);
  });

  it('a wrong password: 535 5.7.8 and a failing exit', async () => {
    const r = await swaks(['--port', String(t.port), '--tls', '--auth', 'LOGIN', '--auth-user', account.username, '--auth-password', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('535 5.7.8 Authentication failed');
  });
});

const PY = `
import smtplib, ssl, sys
port, user, password, method, implicit = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == '1'
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if implicit:
    s = smtplib.SMTP_SSL('127.0.0.1', port, local_hostname='client.test', timeout=20, context=ctx)
else:
    s = smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=20)
    s.starttls(context=ctx)
s.ehlo('client.test')
s.user, s.password = user, password
try:
    s.auth(method, getattr(s, 'auth_' + method.lower()))
except smtplib.SMTPAuthenticationError as e:
    print('AUTH', e.smtp_code, e.smtp_error.decode()); sys.exit(3)
s.mail('app@example.com'); s.rcpt('someone@example.org')
code, resp = s.data('Subject: python ' + method + '\\r\\n\\r\\nhello from smtplib\\r\\n')
print(code, resp.decode())
s.quit()
`;

function python(port: number, password: string, method: string, implicit = false) {
  return run('python3', ['-c', PY, String(port), account.username, password, method, implicit ? '1' : '0'], { timeout: 30_000 }).then(
    (r) => ({ code: 0, out: r.stdout.trim() }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: (err.stdout ?? '').trim() }),
  );
}

describe.skipIf(!hasPython)("Python's smtplib", () => {
  it.each(['PLAIN', 'LOGIN'])('STARTTLS + AUTH %s: queued', async (method) => {
    const r = await python(t.port, account.password, method);
    expect(r.code).toBe(0);
    const id = /^250 2\.6\.0 Queued as ([0-9a-f]{24})$/.exec(r.out)?.[1];
    expect(id).toBeDefined();
    expect(await storedSubject(id!)).toBe(`python ${method}`);
    // smtplib sent neither Message-ID nor Date: the relay adds both (RFC 6409 section 8), after its Received.
    const stored = (await storedBody(t.rt.db.models, id!)).toString('latin1');
    const head = stored.slice(0, stored.indexOf('\r\n\r\n'));
    expect(head).toMatch(
      new RegExp(`^Received: [^]*\r\nMessage-ID: <${id}@[^>\\s]+>\r\nDate: \\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\r\nSubject: python ${method}$`),
    );
    const doc = await t.rt.db.models.queuedMessages.findById(id!).lean();
    expect(doc?.messageId).toBe(`<${id}@${t.rt.config.relay.hostname}>`);
  });

  it('implicit TLS (SMTP_SSL): queued', async () => {
    const r = await python(t.relay.implicitTlsPort!, account.password, 'PLAIN', true);
    expect(r.out).toMatch(/^250 2\.6\.0 Queued as [0-9a-f]{24}$/);
  });

  it('a wrong password raises SMTPAuthenticationError 535', async () => {
    const r = await python(t.port, 'wrong', 'PLAIN');
    expect(r.code).toBe(3);
    expect(r.out).toBe('AUTH 535 5.7.8 Authentication failed');
  });
});

describe('nodemailer over implicit TLS', () => {
  it('secure: true on the implicit-TLS port: queued', async () => {
    const info = await nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: t.relay.implicitTlsPort,
        secure: true,
        tls: { rejectUnauthorized: false },
        auth: { user: account.username, pass: account.password },
      })
      .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: 'implicit', text: 'hi' });
    expect(info.response).toMatch(/^250 2\.6\.0 Queued as /);
  });
});

describe('without RELAY_HOST', () => {
  // "localhost" resolves to ::1 first on many machines: a relay bound to 0.0.0.0 alone refused those clients.
  const hasIpv6Loopback =
    spawnSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()}).on('error',()=>process.exit(1))"]).status === 0;

  it.skipIf(!hasIpv6Loopback)('listens on every address: nodemailer reaches it over ::1 and 127.0.0.1, and the client address is logged plainly', async () => {
    const open = await startTestRelay({ relay: { host: undefined } });
    try {
      const a = await open.newAccount();
      for (const host of ['::1', '127.0.0.1']) {
        const info = await nodemailer
          .createTransport({ host, port: open.port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: a.username, pass: a.password } })
          .sendMail({ from: 'app@example.com', to: 'someone@example.org', subject: `via ${host}`, text: 'hi' });
        expect(info.response).toMatch(/^250 2\.6\.0 Queued as /);
      }
      const accepted = open.logs.filter((l) => l.code === 'RELAY_MESSAGE_ACCEPTED');
      expect(accepted.map((l) => l.ip)).toEqual(['::1', '127.0.0.1']);
      // The Received line names each client with an RFC 5321 address literal.
      const received = await Promise.all(accepted.map(async (l) => (await storedBody(open.rt.db.models, String(l.queueId))).toString('latin1').split('\r\n')[0]));
      expect(received).toEqual([expect.stringMatching(/^Received: from \S+ \(\[IPv6:::1\]\)$/), expect.stringMatching(/^Received: from \S+ \(\[127\.0\.0\.1\]\)$/)]);
    } finally {
      await open.close();
    }
  });
});
