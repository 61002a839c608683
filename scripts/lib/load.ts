// The load generator: N parallel clients sending through nodemailer (a real SMTP client), bounded in
// time and count, loopback only. Each message carries a unique Message-ID so a sink can reconcile.
import nodemailer from 'nodemailer';

export type LoadMode = 'per-message' | 'pooled';

export interface LoadOptions {
  host: string;
  port: number;
  /** One or more accounts; client i uses accounts[i % n]. */
  accounts: ({ user: string; pass: string } | null)[];
  clients: number;
  mode: LoadMode;
  durationMs: number;
  /** Stop after this many messages in total (default: unbounded within durationMs). */
  maxMessages?: number;
  /** Per message: share of 100 KB messages (the rest are 5 KB). Default 0.2. */
  largeShare?: number;
  /** Prefix of Message-IDs, unique per run. */
  runId: string;
  from?: string;
  to?: string[];
  /** Called for every message with its outcome. */
  onResult?: (r: MessageResult) => void;
  /** Client-side timeouts, ms (default 30 s). */
  timeoutMs?: number;
  /** Pause between two messages of one client, ms (soak tests pace themselves; default 0). */
  pauseMs?: number;
  /** Pause after a message that got no answer (server down: do not spin), ms (default 0). */
  errorPauseMs?: number;
  /** Stops the clients (after the message each is sending) when aborted: a load that ends on a condition. */
  signal?: AbortSignal;
}

export type Outcome = 'accepted' | 'rejected' | 'no-answer';

export interface MessageResult {
  messageId: string;
  client: number;
  account: string | null;
  size: number;
  outcome: Outcome;
  /** SMTP reply code when the server answered. */
  code?: number;
  response?: string;
  latencyMs: number;
  startedAt: number;
}

export interface LoadSummary {
  sent: number;
  accepted: number;
  rejected: number;
  noAnswer: number;
  bytesAccepted: number;
  elapsedMs: number;
  latenciesMs: number[];
  codes: Map<string, number>;
  clientCpuSeconds: number;
  firstError?: string;
}

export const SMALL_SIZE = 5 * 1024;
export const LARGE_SIZE = 100 * 1024;

const bodyCache = new Map<number, string>();
function filler(size: number): string {
  let s = bodyCache.get(size);
  if (!s) {
    const line = 'The quick brown fox jumps over the lazy dog while the relay keeps every message durable.\r\n';
    s = line.repeat(Math.ceil(size / line.length)).slice(0, size - 2) + '\r\n';
    bodyCache.set(size, s);
  }
  return s;
}

/** A message of about `size` bytes with the given Message-ID. */
export function buildMessage(messageId: string, size: number, from: string, to: string[]): Buffer {
  const head =
    `From: <${from}>\r\nTo: ${to.map((t) => `<${t}>`).join(', ')}\r\nSubject: load ${messageId}\r\n` +
    `Message-ID: <${messageId}>\r\nDate: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n\r\n`;
  return Buffer.from(head + filler(Math.max(64, size - head.length)));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  if (!/^127\.|^localhost$|^::1$/.test(o.host)) throw new Error(`load targets loopback only, not ${o.host}`);
  const from = o.from ?? 'load@bench.test';
  const to = o.to ?? ['sink@bench.test'];
  const timeout = o.timeoutMs ?? 30_000;
  const largeShare = o.largeShare ?? 0.2;
  const deadline = Date.now() + o.durationMs;
  const max = o.maxMessages ?? Number.POSITIVE_INFINITY;
  let next = 0;
  const summary: LoadSummary = {
    sent: 0,
    accepted: 0,
    rejected: 0,
    noAnswer: 0,
    bytesAccepted: 0,
    elapsedMs: 0,
    latenciesMs: [],
    codes: new Map(),
    clientCpuSeconds: 0,
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  async function client(i: number): Promise<void> {
    const account = o.accounts.length ? o.accounts[i % o.accounts.length]! : null;
    const base = {
      host: o.host,
      port: o.port,
      secure: false,
      ignoreTLS: true,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(account ? { auth: { user: account.user, pass: account.pass } } : {}),
    };
    const transport =
      o.mode === 'pooled' ? nodemailer.createTransport({ ...base, pool: true, maxConnections: 1, maxMessages: Number.POSITIVE_INFINITY }) : nodemailer.createTransport(base);
    try {
      while (Date.now() < deadline && next < max && !o.signal?.aborted) {
        const n = next++;
        const large = (n * 7919) % 100 < largeShare * 100;
        const size = large ? LARGE_SIZE : SMALL_SIZE;
        const messageId = `${o.runId}.${n}@load.smtpdesk.test`;
        const raw = buildMessage(messageId, size, from, to);
        const startedAt = Date.now();
        const s = performance.now();
        let result: MessageResult;
        try {
          await transport.sendMail({ envelope: { from, to }, raw });
          result = { messageId, client: i, account: account?.user ?? null, size, outcome: 'accepted', code: 250, latencyMs: performance.now() - s, startedAt };
        } catch (err) {
          const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
          const latencyMs = performance.now() - s;
          if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
            result = {
              messageId,
              client: i,
              account: account?.user ?? null,
              size,
              outcome: 'rejected',
              code: e.responseCode,
              response: e.response ?? e.message,
              latencyMs,
              startedAt,
            };
          } else {
            result = {
              messageId,
              client: i,
              account: account?.user ?? null,
              size,
              outcome: 'no-answer',
              response: `${e.code ?? ''} ${e.message ?? String(err)}`.trim(),
              latencyMs,
              startedAt,
            };
          }
          summary.firstError ??= result.response;
        }
        summary.sent++;
        if (result.outcome === 'accepted') {
          summary.accepted++;
          summary.bytesAccepted += raw.length;
          summary.latenciesMs.push(result.latencyMs);
        } else if (result.outcome === 'rejected') summary.rejected++;
        else summary.noAnswer++;
        const key = result.code ? String(result.code) : 'none';
        summary.codes.set(key, (summary.codes.get(key) ?? 0) + 1);
        o.onResult?.(result);
        const pause = result.outcome === 'no-answer' && o.errorPauseMs ? o.errorPauseMs : o.pauseMs;
        if (pause) await new Promise((r) => setTimeout(r, pause));
      }
    } finally {
      transport.close();
    }
  }

  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  summary.elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  summary.clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
  summary.latenciesMs.sort((a, b) => a - b);
  return summary;
}
