// Delivery to Postfix's own test server, smtp-sink (Debian package postfix, /usr/sbin/smtp-sink), as the
// upstream: another SMTP implementation than the one smtpdesk is built on. It dumps every transaction to a
// file, which the test reads back. Skipped, saying so, only where smtp-sink is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { closedPort } from '../helpers/smtp-sink.ts';

const SMTP_SINK = '/usr/sbin/smtp-sink';
const installed = existsSync(SMTP_SINK);
const MESSAGES = 100;

interface PostfixSink {
  port: number;
  dir: string;
  /** Each dumped transaction: its envelope lines and the message. */
  transactions(): { helo: string; from: string; to: string[]; message: string }[];
  stop(): Promise<void>;
}

async function startSmtpSink(extra: string[] = []): Promise<PostfixSink> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-smtp-sink-'));
  chmodSync(dir, 0o777); // smtp-sink drops root privileges to -u before writing its dumps
  const port = await closedPort();
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(SMTP_SINK, [...(asRoot ? ['-u', 'postfix'] : []), '-h', 'postfix-sink.test', '-d', `${dir}/%M.`, ...extra, `127.0.0.1:${port}`, '128'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`smtp-sink did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    transactions() {
      return readdirSync(dir).map((f) => {
        const text = readFileSync(join(dir, f), 'utf8');
        const [head, ...rest] = text.split(/\n(?=Received: )/);
        return {
          helo: /^X-Helo-Args: (.*)$/m.exec(head!)?.[1] ?? '',
          from: /^X-Mail-Args: <([^>]*)>/m.exec(head!)?.[1] ?? '',
          to: [...head!.matchAll(/^X-Rcpt-Args: <([^>]*)>/gm)].map((m) => m[1]!),
          message: rest.join('\n'),
        };
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let h: DeliveryHarness;
beforeAll(async () => {
  if (installed) h = await openDeliveryHarness({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await h?.close();
});

const skipNote = installed ? '' : ` (skipped: ${SMTP_SINK} not found; apt-get install postfix)`;

describe(`delivery to Postfix's smtp-sink${skipNote}`, () => {
  it.skipIf(!installed)(
    `hands ${MESSAGES} messages over, each once, with our HELO, the envelope and dot-led lines intact`,
    async () => {
      const sink = await startSmtpSink();
      try {
        for (let i = 0; i < MESSAGES; i += 25) {
          await Promise.all(
            Array.from({ length: 25 }, (_, k) =>
              h.enqueue({ to: [`user${i + k}@example.test`], body: testMessage({ messageId: `<pf-${i + k}@sender.test>`, text: '.a line that starts with a dot\r\n..and two' }) }),
            ),
          );
        }
        const w = startDeliveryWorker(h.rt, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, queueDepthIntervalMs: 0 });
        await w.drain(40_000);
        await w.stop();
        const got = sink.transactions();
        expect(got).toHaveLength(MESSAGES);
        const ids = got.map((t) => /^Message-ID: (.*)$/m.exec(t.message)?.[1]);
        expect(new Set(ids).size).toBe(MESSAGES);
        expect(got.every((t) => t.helo === 'smtpdesk.test' && t.from === 'app@sender.test' && t.to.length === 1)).toBe(true);
        expect(got.every((t) => t.message.includes('\n.a line that starts with a dot\n..and two\n'))).toBe(true);
        expect(await h.rt.db.models.queuedMessages.countDocuments({ state: 'queued' })).toBe(0);
      } finally {
        await sink.stop();
      }
    },
    60_000,
  );

  it.skipIf(!installed)('defers on Postfix’s 4xx answer and keeps it as the last error', async () => {
    const sink = await startSmtpSink(['-r', 'RCPT']);
    try {
      const id = await h.enqueue({ to: ['later@example.test'] });
      const w = startDeliveryWorker(h.rt, { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, pollMinMs: 20, queueDepthIntervalMs: 0, sendBounces: false });
      await w.drain();
      await w.stop();
      const r = (await h.message(id)).recipients[0]!;
      expect(r.status).toBe('queued');
      expect(r.attempts).toBe(1);
      expect(r.lastError).toMatch(/^4\d\d .*Error: command failed \(after RCPT TO\)$/);
      expect(sink.transactions()).toHaveLength(0);
    } finally {
      await sink.stop();
    }
  });
});
