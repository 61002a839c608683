// npm run test:soak — a bounded load through smtpdesk while the harness breaks it: SIGKILL the relay and
// the worker (and restart them as child processes), stop the next hop for a while, stop and restart the database,
// SIGKILL the database, disable an account mid-stream with the CLI. Then reconcile against a sink that records Message-IDs:
//   - every message that got 250 reached the sink, and none reached it twice;
//   - no message that got a 4xx/5xx reached it;
//   - nothing was accepted for the disabled account after the disable command returned;
//   - each account's counters (sent, delivered) and the workspace's quota usage equal exactly what the queue
//     holds, after every kill (the counter batches a killed process left open are finished by the others);
//   - a responder's disable under full load is quick: the CLI's under 3 s, the admin webhook's under 1 s.
// Exits non-zero on any loss, duplicate or mismatch. Loopback only; bounded in time and count.
//
// Modes (they combine with each other and with the faults above):
//   --slow-upstream   the sink waits --upstream-delay seconds (3) before answering DATA, with short leases
//                     (DELIVERY_LEASE_SECONDS=5, DELIVERY_CONCURRENCY=2) and a bounded load sent in three bursts
//                     (default 24 clients, 144 messages): claimed messages wait in a worker longer than a lease
//   --hang-db         a proxy between smtpdesk and the database stops forwarding for --hang-seconds (10, longer
//                     than RELAY_STORE_TIMEOUT_MS and COUNTER_BATCH_STALE_SECONDS) without closing a socket: the
//                     relay's link alone at 42 % of the run, every process's link at 86 %
//   --workers N       N worker processes (default 1)
//
// Flags (or env): --clients N (SOAK_CLIENTS, 50)  --seconds S (SOAK_SECONDS, 120)  --drain S (SOAK_DRAIN_SECONDS, 180:
//   the least the drain waits; more when the backlog needs it)  --messages M (SOAK_MESSAGES: cap the load, sent in
//   three bursts, at 2 %, 30 % and 70 % of the run)  --no-db-kill (skip the database SIGKILL)  --keep (keep logs)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/store/connection.ts';
import { signatureHeader } from '../src/shared/signing.ts';
import { positiveInt } from './lib/args.ts';
import { findDuplicates } from './lib/duplicates.ts';
import { startHangProxy, type HangProxy } from './lib/hang-proxy.ts';
import { runLoad, type MessageResult } from './lib/load.ts';
import { freePort, sleep } from './lib/peers.ts';
import { cpuSecondsOf } from './lib/proc-stats.ts';
import { startSinkProcess } from './lib/sink.ts';
import { bootstrap, openDatabase, roleProcess, runCli, type RoleProcess } from './lib/smtpdesk.ts';
import { duration, fmt, table, ticker } from './lib/report.ts';

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string' },
    seconds: { type: 'string' },
    drain: { type: 'string' },
    messages: { type: 'string' },
    workers: { type: 'string' },
    'slow-upstream': { type: 'boolean' },
    'upstream-delay': { type: 'string' },
    'hang-db': { type: 'boolean' },
    'hang-seconds': { type: 'string' },
    'no-db-kill': { type: 'boolean' },
    keep: { type: 'boolean' },
  },
  strict: true,
});
const SLOW = flags['slow-upstream'] === true;
const HANG = flags['hang-db'] === true;
const CLIENTS = positiveInt(flags.clients, process.env.SOAK_CLIENTS, SLOW ? 24 : 50);
const SECONDS = positiveInt(flags.seconds, process.env.SOAK_SECONDS, 120);
const DRAIN_S = positiveInt(flags.drain, process.env.SOAK_DRAIN_SECONDS, 180);
const WORKERS = positiveInt(flags.workers, process.env.SOAK_WORKERS, 1);
/** A slow next hop delivers a few messages a second at most: its load is bounded (three bursts, two messages per client each). */
const MESSAGES = flags.messages || process.env.SOAK_MESSAGES || SLOW ? positiveInt(flags.messages, process.env.SOAK_MESSAGES, 6 * CLIENTS) : Number.POSITIVE_INFINITY;
const UPSTREAM_DELAY_MS = SLOW ? positiveInt(flags['upstream-delay'], undefined, 3) * 1000 : 0;
/** Short enough that a soak drains: a dead worker's leases expire in 15 s (5 s with a slow next hop). */
const LEASE_S = SLOW ? 5 : 15;
/** Per worker; the default (10) unless the next hop is slow, where 2 slots make claimed messages wait. */
const CONCURRENCY = SLOW ? 2 : 10;
const STORE_TIMEOUT_MS = 5000;
/** Batches a killed process left open are finished by the others after 5 s (not the default 2 minutes). */
const BATCH_STALE_S = 5;
const HANG_S = positiveInt(flags['hang-seconds'], undefined, 2 * Math.max(STORE_TIMEOUT_MS / 1000, BATCH_STALE_S));
/** The drain gives up this long after the last sign of progress (nothing delivered, nothing left the queue). */
const STALL_MS = Math.max(90, 6 * LEASE_S) * 1000;
const MAX_DRAIN_S = 1200;
/** When the bursts of a capped load start, as fractions of the run (each waits for the fault before it to end). */
const BURSTS = [0.02, 0.3, 0.7];
const WORKSPACE = 'soak';
const ACCOUNTS = ['soak-a', 'soak-b', 'soak-c'];
const DISABLED = 'soak-c';
/** Disabled by the admin webhook under load; it sends nothing itself. */
const WEBHOOK_DISABLED = 'soak-d';
const WEBHOOK_SECRET = 'soak-webhook-secret-0123456789';
/** How fast a responder's disable must return while the relay is under full load. */
const CLI_DISABLE_MAX_MS = 3_000;
const WEBHOOK_DISABLE_MAX_MS = 1_000;

interface FaultRecord {
  at: number;
  what: string;
  tookMs: number;
  note?: string;
}

function say(msg: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function modeLine(): string {
  const parts = [`${WORKERS} worker${WORKERS > 1 ? 's' : ''} (concurrency ${CONCURRENCY}, lease ${LEASE_S} s)`];
  if (SLOW) parts.push(`next hop answers DATA after ${UPSTREAM_DELAY_MS / 1000} s`);
  if (HANG) parts.push(`database links hung ${HANG_S} s, the relay's then all (store timeout ${STORE_TIMEOUT_MS / 1000} s)`);
  if (Number.isFinite(MESSAGES)) parts.push(`load capped at ${fmt(MESSAGES)} messages in bursts`);
  return parts.join(', ');
}

async function main(): Promise<void> {
  if (SECONDS < 10) throw new Error('--seconds must be at least 10');
  if (HANG && HANG_S * 1000 <= STORE_TIMEOUT_MS) throw new Error(`--hang-seconds must be longer than the store timeout (${STORE_TIMEOUT_MS / 1000} s)`);
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-soak-'));
  const logDir = join(work, 'logs');
  say(`${CLIENTS} clients for ${SECONDS} s, ${modeLine()}, faults on a schedule; logs in ${logDir}`);

  const db = await openDatabase(`soak${Date.now()}`, join(work, 'ferretdb'));
  if (HANG && !db.ferret) throw new Error('--hang-db needs the dedicated FerretDB (run without MONGODB_URI)');
  // smtpdesk reaches the database through two proxies, the relay's and the other processes'; the harness (CLI,
  // reconciliation) goes straight to it.
  const proxies: { relay: HangProxy; others: HangProxy } | null = HANG ? { relay: await startHangProxy(db.uri), others: await startHangProxy(db.uri) } : null;
  const sink = await startSinkProcess({ port: await freePort(), dataDelayMs: UPSTREAM_DELAY_MS });
  const creds = await bootstrap(db.uri, WORKSPACE, [...ACCOUNTS, WEBHOOK_DISABLED]);
  const loadCreds = creds.filter((c) => c.name !== WEBHOOK_DISABLED);
  const byUser = new Map(creds.map((c) => [c.username, c.name]));
  const relayPort = await freePort();
  const httpPort = await freePort();
  const env = {
    MONGODB_URI: proxies?.others.uri ?? db.uri,
    SMTPDESK_DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'info',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(relayPort),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
    RELAY_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sink.port}`,
    DELIVERY_LEASE_SECONDS: String(LEASE_S),
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
    // Deferrals retry within seconds.
    DELIVERY_RETRY_SCHEDULE: '2s, 5s*3, 10s*60',
    DELIVERY_SEND_BOUNCES: 'false',
    COUNTER_BATCH_STALE_SECONDS: String(BATCH_STALE_S),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    ADMIN_WEBHOOK_SECRETS: `soak:${WEBHOOK_SECRET}`,
  };
  const relay = roleProcess({ role: 'relay', env: { ...env, MONGODB_URI: proxies?.relay.uri ?? db.uri }, logDir, port: relayPort });
  const workers = Array.from({ length: WORKERS }, (_, i) => roleProcess({ role: 'worker', name: i ? `worker-${i + 1}` : 'worker', env, logDir }));
  const http = roleProcess({ role: 'http', env, logDir, port: httpPort });
  const roles = [relay, ...workers, http];
  for (const p of roles) await p.start();
  say(
    `relay on 127.0.0.1:${relayPort}, ${WORKERS} worker(s) running, sink on 127.0.0.1:${sink.port}, database ${db.ferret ? `FerretDB ${db.uri}` : 'MONGODB_URI'}` +
      (proxies ? ` (the relay through the proxy on ${proxies.relay.port}, the others through ${proxies.others.port})` : ''),
  );

  const results: MessageResult[] = [];
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const faults: FaultRecord[] = [];
  /** When a worker was SIGKILLed (epoch ms): what it had answered but not recorded may be delivered again. */
  const workerKills: number[] = [];
  let disabledAt = Number.POSITIVE_INFINITY;
  const responderMs: { cli?: number; webhook?: number } = {};

  const fault = async (what: string, run: () => Promise<string | void>) => {
    const at = Date.now() - t0;
    const s = Date.now();
    say(what);
    try {
      const note = await run();
      faults.push({ at, what, tookMs: Date.now() - s, ...(note ? { note } : {}) });
    } catch (err) {
      faults.push({ at, what, tookMs: Date.now() - s, note: `FAILED: ${(err as Error).message.split('\n')[0]}` });
      say(`fault ${what} failed: ${(err as Error).message}`);
    }
  };
  const restart = async (p: RoleProcess) => {
    await sleep(1500);
    await p.start();
  };
  const hangFor = async (links: HangProxy[]) => {
    for (const p of links) p.hang();
    await sleep(HANG_S * 1000);
    for (const p of links) p.resume();
  };
  const killWorkers = async (which: RoleProcess[]) => {
    workerKills.push(Date.now());
    await Promise.all(which.map((w) => w.kill()));
  };

  // Half the clients open a connection per message, half keep one open (nodemailer pool). A capped load comes
  // in bursts that take turns with the faults (a burst and a fault never overlap): a worker then holds more
  // claimed messages than it has slots, and the faults meet deliveries in progress.
  const perMessage = Math.ceil(CLIENTS / 2);
  const capped = Number.isFinite(MESSAGES);
  const accounts = loadCreds.map((c) => ({ user: c.username, pass: c.password }));
  const common = {
    host: '127.0.0.1',
    port: relayPort,
    accounts,
    timeoutMs: 20_000,
    pauseMs: 20,
    errorPauseMs: 250,
    onResult: (r: MessageResult) => results.push(r),
  };
  const loadProgress = ticker(10_000, () => {
    const ok = results.filter((r) => r.outcome === 'accepted').length;
    return `[soak] load ${duration(Date.now() - t0)}: ${fmt(results.length)} sent, ${fmt(ok)} got 250, sink ${fmt(sink.total())}`;
  });
  const bothHalves = (runId: string, durationMs: number, messages?: number) => {
    const cap = (n: number) => (messages === undefined ? {} : { maxMessages: Math.ceil((messages * n) / CLIENTS) });
    return Promise.all([
      runLoad({ ...common, ...cap(perMessage), durationMs, clients: perMessage, mode: 'per-message', runId: `${runId}p` }),
      runLoad({ ...common, ...cap(CLIENTS - perMessage), durationMs, clients: CLIENTS - perMessage, mode: 'pooled', runId: `${runId}q` }),
    ]);
  };
  const schedule: [number, string, () => Promise<string | void>][] = [
    [0.12, 'SIGKILL relay, restart', async () => (await relay.kill(), await restart(relay))],
    [0.24, `SIGKILL worker${WORKERS > 1 ? ' 1' : ''}, restart`, async () => (await killWorkers([workers[0]!]), await restart(workers[0]!))],
    // After the last SIGKILL of the workers: a worker that wedges when the next hop goes away is not rescued by a restart.
    [
      0.7,
      'next hop down 5 s (connections refused), back',
      async () => {
        // A message the sink answered as it stopped may never have reached the worker's ear: sent again (RFC 1047).
        workerKills.push(Date.now());
        await sink.stop();
        await sleep(5000);
        await sink.start();
      },
    ],
    [
      0.36,
      'stop database 5 s, restart',
      async () => {
        if (!db.ferret) return 'skipped: MONGODB_URI given';
        await db.ferret.stop();
        await sleep(5000);
        await db.ferret.restart();
      },
    ],
    ...(proxies
      ? ([
          // The relay alone: its commits hang past the store timeout (its clients get 451) and past the stale
          // time, while the worker's recovery runs; then what it sent lands.
          [0.42, `hang the relay's database link ${HANG_S} s (sockets open), resume`, () => hangFor([proxies.relay])],
          // Everyone: the worker's claims, renewals and finishes hang too.
          [0.86, `hang every database link ${HANG_S} s (sockets open), resume`, () => hangFor([proxies.relay, proxies.others])],
        ] as [number, string, () => Promise<string | void>][])
      : []),
    [
      0.5,
      `disable ${DISABLED} (CLI)`,
      async () => {
        const started = Date.now();
        const r = await runCli(db.uri, ['accounts', 'disable', DISABLED, '--reason', 'suspected_compromise', '--workspace', WORKSPACE, '--json']);
        if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr || r.stdout}`);
        disabledAt = Date.now();
        responderMs.cli = disabledAt - started;
        return `${fmt(responderMs.cli)} ms`;
      },
    ],
    [
      0.56,
      `disable ${WEBHOOK_DISABLED} (admin webhook)`,
      async () => {
        const body = JSON.stringify({ action: 'disable', workspace: WORKSPACE, name: WEBHOOK_DISABLED, reason: 'suspected_compromise' });
        const ts = String(Math.floor(Date.now() / 1000));
        const started = Date.now();
        const res = await fetch(`http://127.0.0.1:${httpPort}/webhooks/admin`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-smtpdesk-timestamp': ts,
            'x-smtpdesk-signature': signatureHeader(WEBHOOK_SECRET, ts, body),
            'x-smtpdesk-delivery': `soak-${ts}`,
            'x-smtpdesk-integration': 'soak',
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        responderMs.webhook = Date.now() - started;
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        return `${fmt(responderMs.webhook)} ms`;
      },
    ],
    [
      0.64,
      `SIGKILL relay + ${WORKERS > 1 ? 'all workers' : 'worker'} together, restart`,
      async () => {
        await Promise.all([relay.kill(), killWorkers(workers)]);
        await Promise.all([restart(relay), ...workers.map(restart)]);
      },
    ],
    [
      0.78,
      'SIGKILL database, restart',
      async () => {
        if (!db.ferret) return 'skipped: MONGODB_URI given';
        if (flags['no-db-kill']) return 'skipped: --no-db-kill';
        await db.ferret.kill();
        await sleep(2000);
        await db.ferret.restart();
      },
    ],
  ];

  if (capped)
    for (const [i, frac] of BURSTS.entries()) {
      const n = Math.ceil(MESSAGES / BURSTS.length);
      schedule.push([
        frac,
        `load burst: ${n} messages from ${CLIENTS} clients`,
        async () => {
          const before = results.filter((r) => r.outcome === 'accepted').length;
          await bothHalves(`soak-${t0}-b${i}`, SECONDS * 1000, n);
          return `${results.filter((r) => r.outcome === 'accepted').length - before} got 250`;
        },
      ]);
    }
  schedule.sort((a, b) => a[0] - b[0]);

  const faultsDone = (async () => {
    for (const [frac, what, run] of schedule) {
      const due = t0 + frac * SECONDS * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await fault(what, run);
    }
  })();

  if (!capped) await bothHalves(`soak-${t0}`, SECONDS * 1000);
  await faultsDone;
  loadProgress.stop();
  const loadMs = Date.now() - t0;
  const cpuLoad = process.cpuUsage(cpu0);
  const harnessCpuS = (cpuLoad.user + cpuLoad.system) / 1e6;
  const sinkPid = sink.pid();
  const sinkCpuS = sinkPid ? cpuSecondsOf([sinkPid]) : NaN;
  say(`load done: ${fmt(results.length)} messages sent in ${fmt(loadMs / 1000)} s`);

  const store = await connectDatabase(db.uri, { ensureIndexes: false, serverSelectionTimeoutMS: 5000 });
  const countQueued = () => store.models.queuedMessages.countDocuments({ state: 'queued' }).catch(() => -1);
  const drain = await waitForDrain(countQueued, () => sink.total(), loadMs);
  // Counter batches the kills left open are finished by the relay and the worker still running (after
  // COUNTER_BATCH_STALE_SECONDS); wait for that, bounded, then stop them gracefully.
  const openBatches = () => store.models.counterBatches.countDocuments({ state: { $ne: 'stored' } }).catch(() => -1);
  const recoverStart = Date.now();
  while ((await openBatches()) !== 0 && Date.now() - recoverStart < 60_000) await sleep(1000);
  const leftOpen = await openBatches();
  for (const p of [...workers, relay, http]) await p.stop();
  const list = await runCli(db.uri, ['accounts', 'list', '--workspace', WORKSPACE, '--json']);
  const counters = new Map<string, { id: string; totalSent: number; delivered: number; status: string }>();
  if (list.code === 0) for (const r of JSON.parse(list.stdout) as { id: string; name: string; totalSent: number; delivered: number; status: string }[]) counters.set(r.name, r);
  // What the queue itself holds, per account: emails accepted (every recipient of a stored message) and
  // delivered. The counters must equal these exactly.
  const queueDelivered = new Map<string, number>();
  const queueEmails = new Map<string, number>();
  for (const c of counters.values()) {
    const docs = await store.models.queuedMessages.find({ accountId: c.id, kind: { $ne: 'bounce' } }, { recipients: 1 }).lean<{ recipients: { status: string }[] }[]>();
    queueDelivered.set(
      c.id,
      docs.reduce((n, d) => n + d.recipients.filter((r) => r.status === 'delivered').length, 0),
    );
    queueEmails.set(
      c.id,
      docs.reduce((n, d) => n + d.recipients.length, 0),
    );
  }
  const usage = await runCli(db.uri, ['usage', '--workspace', WORKSPACE, '--json']);
  const quotaUsed = usage.code === 0 ? Number((JSON.parse(usage.stdout) as { emailsThisMonth?: number }).emailsThisMonth) : NaN;
  await store.close();

  // --- reconcile -----------------------------------------------------------------------------------------------
  const received = sink.received;
  const accepted = results.filter((r) => r.outcome === 'accepted');
  const refused = results.filter((r) => r.outcome === 'rejected');
  const noAnswer = results.filter((r) => r.outcome === 'no-answer');
  const lost = accepted.filter((r) => !received.has(r.messageId));
  const refusedDelivered = refused.filter((r) => received.has(r.messageId));
  const { all: duplicates, acrossKill } = findDuplicates(received, sink.firstAt, sink.lastAt, workerKills);
  const unknownDelivered = noAnswer.filter((r) => received.has(r.messageId)).length;
  const sentIds = new Set(results.map((r) => r.messageId));
  const strangers = [...received.keys()].filter((id) => !sentIds.has(id));
  const afterDisable = accepted.filter((r) => byUser.get(r.account ?? '') === DISABLED && r.startedAt > disabledAt);
  const codes = new Map<string, number>();
  for (const r of refused) codes.set(String(r.code), (codes.get(String(r.code)) ?? 0) + 1);

  // Counters are exact after any kill: a relay or worker killed half way through a commit leaves its counter
  // batch open, and the processes still running finish it, counting each change once.
  const perAccount = ACCOUNTS.map((name) => {
    const mine = results.filter((r) => byUser.get(r.account ?? '') === name);
    const ids = new Set(mine.map((r) => r.messageId));
    const distinct = [...ids].filter((id) => received.has(id)).length;
    const copies = [...ids].reduce((n, id) => n + (received.get(id) ?? 0), 0);
    const c = counters.get(name);
    const sent = c?.totalSent ?? NaN;
    const delivered = c?.delivered ?? NaN;
    const inQueue = c ? (queueDelivered.get(c.id) ?? NaN) : NaN;
    const stored = c ? (queueEmails.get(c.id) ?? NaN) : NaN;
    const sentDrift = stored - sent;
    const deliveredDrift = inQueue - delivered;
    const exact = sentDrift === 0 && deliveredDrift === 0 && inQueue === distinct;
    return {
      name,
      accepted: mine.filter((r) => r.outcome === 'accepted').length,
      atSink: distinct,
      copies,
      stored,
      sent,
      delivered,
      inQueue,
      sentDrift,
      deliveredDrift,
      status: c?.status ?? '?',
      verdict: exact ? 'exact' : 'MISMATCH',
    };
  });
  const storedEmails = [...queueEmails.values()].reduce((n, v) => n + v, 0);
  const extraCopies = duplicates.reduce((n, [, c]) => n + c - 1, 0);
  const crashes = roles.map((p) => p.crashes);

  const checks: { check: string; value: string; ok: boolean }[] = [
    { check: 'accepted (250) that never reached the sink', value: fmt(lost.length), ok: lost.length === 0 },
    {
      check: 'delivered twice (Message-IDs at the sink more than once)',
      value: fmt(duplicates.length) + (acrossKill.length ? ` (${fmt(acrossKill.length)} first answered before a worker SIGKILL or the next hop's stop, sent again after it)` : ''),
      ok: duplicates.length === acrossKill.length,
    },
    { check: 'refused (4xx/5xx) that reached the sink', value: fmt(refusedDelivered.length), ok: refusedDelivered.length === 0 },
    { check: `accepted for ${DISABLED} after its disable returned`, value: fmt(afterDisable.length), ok: afterDisable.length === 0 },
    { check: 'messages at the sink the load never sent', value: fmt(strangers.length), ok: strangers.length === 0 },
    {
      check: `queue drained (still queued after waiting ${duration(drain.waitedMs)} of up to ${duration(drain.budgetMs)})`,
      value: drain.queued < 0 ? 'unknown' : fmt(drain.queued),
      ok: drain.queued === 0,
    },
    {
      check: 'account counters = queue (sent, delivered): exact',
      value: perAccount.every((p) => p.verdict === 'exact') ? 'exact' : 'MISMATCH',
      ok: perAccount.every((p) => p.verdict === 'exact'),
    },
    { check: 'workspace quota used = emails in the queue', value: `${fmt(quotaUsed)} = ${fmt(storedEmails)}`, ok: quotaUsed === storedEmails },
    { check: 'counter batches left open', value: fmt(leftOpen), ok: leftOpen === 0 },
    {
      check: `CLI disable under load (< ${fmt(CLI_DISABLE_MAX_MS / 1000)} s)`,
      value: responderMs.cli === undefined ? 'not run' : `${fmt(responderMs.cli / 1000, 2)} s`,
      ok: responderMs.cli !== undefined && responderMs.cli < CLI_DISABLE_MAX_MS,
    },
    {
      check: `admin webhook disable under load (< ${fmt(WEBHOOK_DISABLE_MAX_MS / 1000)} s)`,
      value: responderMs.webhook === undefined ? 'not run' : `${fmt(responderMs.webhook / 1000, 2)} s`,
      ok: responderMs.webhook !== undefined && responderMs.webhook < WEBHOOK_DISABLE_MAX_MS,
    },
    { check: `unplanned crashes (${roles.map((p) => p.name).join(', ')})`, value: crashes.join(', '), ok: crashes.every((n) => n === 0) },
  ];

  const out: string[] = [];
  out.push(`soak: ${CLIENTS} clients (${perMessage} per-message, ${CLIENTS - perMessage} pooled), ${modeLine()}`);
  out.push(
    `${fmt(loadMs / 1000)} s of load; drain: ${fmt(drain.queuedAtStart)} queued when the load ended, ` +
      `${drain.queued === 0 ? 'empty' : `${fmt(drain.queued)} still queued`} after ${duration(drain.waitedMs)} (waited up to ${duration(drain.budgetMs)}: ${drain.why})`,
  );
  out.push('');
  out.push(
    table(faults, [
      { header: 'at s', value: (f) => fmt(f.at / 1000, 1), align: 'right' },
      { header: 'fault (or load burst)', value: (f) => f.what },
      { header: 'took s', value: (f) => fmt(f.tookMs / 1000, 1), align: 'right' },
      { header: 'note', value: (f) => f.note ?? '' },
    ]),
  );
  out.push('');
  out.push(
    `messages: ${fmt(results.length)} sent, ${fmt(accepted.length)} got 250, ${fmt(refused.length)} got 4xx/5xx (${[...codes].map(([c, n]) => `${c}×${n}`).join(', ') || 'none'}), ` +
      `${fmt(noAnswer.length)} got no answer (${fmt(unknownDelivered)} of those reached the sink)`,
  );
  const reasons = new Map<string, number>();
  for (const r of noAnswer) {
    const k = (r.response ?? '').replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').slice(0, 60);
    reasons.set(k, (reasons.get(k) ?? 0) + 1);
  }
  if (noAnswer.length)
    out.push(
      `no answer: ${[...reasons]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([k, n]) => `${n}× ${k}`)
        .join('; ')}`,
    );
  out.push(`sink: ${fmt(sink.total())} received, ${fmt(received.size)} distinct, ${fmt(duplicates.length)} duplicated (${fmt(extraCopies)} extra copies)`);
  out.push(
    `harness: the load's clients used ${fmt(harnessCpuS, 1)} CPU s in ${fmt(loadMs / 1000)} s (${fmt((100 * harnessCpuS * 1000) / loadMs)} % of one core), ` +
      `the sink process ${fmt(sinkCpuS, 1)} s (${fmt((100 * sinkCpuS * 1000) / loadMs)} %)`,
  );
  out.push('');
  out.push(
    table(perAccount, [
      { header: 'account', value: (p) => p.name },
      { header: 'status', value: (p) => p.status },
      { header: '250s', value: (p) => fmt(p.accepted), align: 'right' },
      { header: 'at sink', value: (p) => fmt(p.atSink), align: 'right' },
      { header: 'copies', value: (p) => fmt(p.copies), align: 'right' },
      { header: 'emails in queue', value: (p) => fmt(p.stored), align: 'right' },
      { header: 'sent ctr', value: (p) => fmt(p.sent) + (p.sentDrift ? ` (${-p.sentDrift})` : ''), align: 'right' },
      { header: 'delivered in queue', value: (p) => fmt(p.inQueue), align: 'right' },
      { header: 'delivered ctr', value: (p) => fmt(p.delivered) + (p.deliveredDrift ? ` (${-p.deliveredDrift})` : ''), align: 'right' },
      { header: '', value: (p) => p.verdict },
    ]),
  );
  out.push('');
  out.push(
    table(checks, [
      { header: 'check', value: (c) => c.check },
      { header: 'value', value: (c) => c.value, align: 'right' },
      { header: '', value: (c) => (c.ok ? 'ok' : 'FAIL') },
    ]),
  );
  const firstFive = (label: string, ids: string[]) => ids.length && out.push(`${label} (first 5): ${ids.slice(0, 5).join(', ')}`);
  firstFive(
    'lost',
    lost.map((r) => r.messageId),
  );
  firstFive(
    'duplicated',
    duplicates.map(([id, n]) => `${id} ×${n}`),
  );
  const excused = new Set(acrossKill.map(([id]) => id));
  const at = (t: number | undefined) => (t === undefined ? '?' : `${((t - t0) / 1000).toFixed(1)} s`);
  firstFive(
    'duplicated outside a kill (copies at)',
    duplicates.filter(([id]) => !excused.has(id)).map(([id]) => `${id} ${at(sink.firstAt.get(id))} and ${at(sink.lastAt.get(id))}`),
  );
  firstFive(
    'refused but delivered',
    refusedDelivered.map((r) => `${r.messageId} ${r.code}`),
  );
  const failed = checks.filter((c) => !c.ok).length;
  out.push('', `soak: ${checks.length - failed} passed, ${failed} failed`);
  process.stdout.write(`\n${out.join('\n')}\n`);

  await sink.close();
  await proxies?.relay.close();
  await proxies?.others.close();
  await db.dispose();
  if (flags.keep || failed) process.stdout.write(`server logs: ${logDir}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

interface Drain {
  queuedAtStart: number;
  /** Messages still queued when the wait ended (-1: the database did not answer). */
  queued: number;
  waitedMs: number;
  budgetMs: number;
  why: string;
}

/**
 * Waits until nothing is left queued and the sink has stopped moving, showing progress every 5 s. It waits as
 * long as a correct system needs: the larger of --drain and 1.5 × the backlog ÷ the delivery rate such a system
 * reaches (with a slow next hop: workers × slots ÷ delay; otherwise the rate the sink saw during the load), plus a
 * lease and 30 s; it gives up early only when nothing has moved for a while. The queue is counted every 5 s (a
 * count reads every queued document: counting often would slow the system it measures).
 */
async function waitForDrain(countQueued: () => Promise<number>, sinkTotal: () => number, loadMs: number): Promise<Drain> {
  const queuedAtStart = await countQueued();
  const slowRate = (WORKERS * CONCURRENCY * 1000) / Math.max(1, UPSTREAM_DELAY_MS);
  const loadRate = Math.max(1, sinkTotal() / (loadMs / 1000));
  const rate = SLOW ? slowRate : loadRate;
  const needS = Math.ceil((1.5 * Math.max(0, queuedAtStart)) / rate) + LEASE_S + 30;
  const budgetMs = Math.min(MAX_DRAIN_S, Math.max(DRAIN_S, needS)) * 1000;
  const why = `the larger of --drain ${DRAIN_S} s and 1.5 × backlog ÷ ${fmt(rate, 1)} msg/s + ${LEASE_S + 30} s`;
  say(`draining: ${fmt(queuedAtStart)} queued; waiting up to ${duration(budgetMs)} (${why})`);
  const start = Date.now();
  let queued = queuedAtStart;
  let lastTotal = sinkTotal();
  let lastQueued = queued;
  let movedAt = Date.now();
  let countedAt = Date.now();
  const progress = ticker(5000, () => `[soak] drain ${duration(Date.now() - start)}: ${fmt(queued)} queued, sink ${fmt(sinkTotal())}`);
  try {
    while (Date.now() - start < budgetMs && Date.now() - movedAt < STALL_MS) {
      if (sinkTotal() !== lastTotal) {
        lastTotal = sinkTotal();
        movedAt = Date.now();
      }
      if (Date.now() - countedAt >= 5000 || queued === 0) {
        queued = await countQueued();
        countedAt = Date.now();
        if (queued !== lastQueued) [lastQueued, movedAt] = [queued, Date.now()];
      }
      if (queued === 0 && Date.now() - movedAt > 3000) break;
      await sleep(1000);
    }
  } finally {
    progress.stop();
  }
  if (Date.now() - movedAt >= STALL_MS && queued !== 0) say(`drain: nothing moved for ${duration(STALL_MS)}; giving up`);
  queued = await countQueued();
  return { queuedAtStart, queued, waitedMs: Date.now() - start, budgetMs, why };
}

main().catch((err) => {
  process.stderr.write(`test:soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
