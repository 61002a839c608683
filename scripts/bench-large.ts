// npm run bench:large — bounded memory for large messages: 20 clients each send one 25 MB message to the relay at
// once (loopback), and the relay's peak RSS is reported beside what the messages weigh together. A relay that
// buffered each message whole (and copied it) would need at least that much; the relay streams each body into
// the store in 1 MB chunks as it arrives.
//
// Flags: --clients N (20) --mb M (25)
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodemailer from 'nodemailer';
import { freePort } from './lib/peers.ts';
import { TreeMonitor } from './lib/proc-stats.ts';
import { bootstrap, openDatabase, roleProcess } from './lib/smtpdesk.ts';
import { fmt, table } from './lib/report.ts';

const { values: flags } = parseArgs({ options: { clients: { type: 'string' }, mb: { type: 'string' } }, strict: true });
const CLIENTS = Number(flags.clients ?? 20);
const MB = Number(flags.mb ?? 25);

function bigMessage(i: number): Buffer {
  // Base64-like lines of 76 characters, as a mail client would encode an attachment.
  const line = Buffer.from(`${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0'}\r\n`);
  const header = Buffer.from(`From: <app@sender.test>\r\nTo: <big@example.test>\r\nSubject: large ${i}\r\nMessage-ID: <large-${i}-${Date.now()}@sender.test>\r\n\r\n`);
  const lines = Math.ceil((MB * 1024 * 1024 - header.length) / line.length);
  return Buffer.concat([header, ...Array.from({ length: lines }, () => line)]);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-large-'));
  const db = await openDatabase(`large${Date.now()}`, join(work, 'ferretdb'));
  try {
    const [cred] = await bootstrap(db.uri, `large-${Date.now().toString(36)}`, ['large-load']);
    const port = await freePort();
    const relay = roleProcess({
      role: 'relay',
      logDir: join(work, 'logs'),
      port,
      env: {
        MONGODB_URI: db.uri,
        SMTPDESK_DATA_DIR: join(work, 'data'),
        RELAY_HOST: '127.0.0.1',
        RELAY_PORT: String(port),
        RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
        RELAY_MAX_MESSAGE_SIZE: `${MB + 5}mb`,
        RELAY_STORE_TIMEOUT_MS: '120000',
      },
    });
    await relay.start();
    const messages = Array.from({ length: CLIENTS }, (_, i) => bigMessage(i));
    const idleMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${relay.pid()}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const mon = new TreeMonitor(() => [relay.pid()!].filter(Boolean), 100);
    mon.start();
    const started = Date.now();
    const answers = await Promise.all(
      messages.map(async (raw) => {
        const t = nodemailer.createTransport({
          host: '127.0.0.1',
          port,
          secure: false,
          ignoreTLS: true,
          auth: { user: cred!.username, pass: cred!.password },
          socketTimeout: 300_000,
        });
        try {
          return (await t.sendMail({ envelope: { from: 'app@sender.test', to: ['big@example.test'] }, raw })).response;
        } catch (err) {
          return `error: ${(err as Error).message}`;
        } finally {
          t.close();
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const r = mon.stop();
    await relay.stop();
    const accepted = answers.filter((a) => a.startsWith('250')).length;
    const weight = messages.reduce((n, m) => n + m.length, 0) / 1024 / 1024;
    process.stdout.write(
      `\n${table(
        [
          { what: 'messages sent at once', value: `${fmt(CLIENTS)} × ${fmt(MB)} MB` },
          { what: 'accepted (250)', value: `${fmt(accepted)} of ${fmt(CLIENTS)}` },
          { what: 'time for all', value: `${fmt(seconds, 1)} s` },
          { what: 'the messages together', value: `${fmt(weight)} MB` },
          { what: 'relay RSS before the load', value: `${fmt(idleMb)} MB` },
          { what: 'relay peak RSS (VmHWM)', value: `${fmt(r.peakMb)} MB` },
        ],
        [
          { header: 'bench:large', value: (x) => x.what },
          { header: '', value: (x) => x.value, align: 'right' },
        ],
      )}\n`,
    );
    if (accepted !== CLIENTS)
      process.stdout.write(
        `not accepted: ${answers
          .filter((a) => !a.startsWith('250'))
          .slice(0, 3)
          .join('; ')}\n`,
      );
    process.exitCode = accepted === CLIENTS ? 0 : 1;
  } finally {
    await db.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:large failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
