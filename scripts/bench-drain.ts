// npm run bench:drain — does a backlog drain as fast as the worker delivers under a steady load, and does the
// memory of the relay and the worker stay flat over many deliveries? The relay and the worker run as their own
// processes (as in production) against a dedicated FerretDB (or MONGODB_URI); the next hop is a recording sink
// on a fixed port, stopped and started by this script. Loopback only; every phase bounded in count and time.
//
//   1. steady   the sink is up; pooled clients send until the sink has --deliveries ÷ 10 messages (and for 20 s at
//               least): the steady delivery rate is what reached the sink per second while the load ran
//   2. fill     the sink is stopped (the next hop refuses connections); clients send --backlog messages, which
//               the worker defers (DELIVERY_RETRY_SCHEDULE 5 s)
//   3. drain    the sink is started again; the drain rate is the backlog ÷ the time from its first message to
//               its last reaching the sink (the worker's wait for the first retry to fall due is not counted)
//   4. steady   as 1, until the sink has --deliveries messages in all
//
// The relay's and the worker's RSS (VmRSS) are read each time the sink passes a tenth of --deliveries: the first
// (after phase 1) and the last (at the end of phase 4) are taken under the same load, so they compare.
// Ends with two lines a script can read:
//   drain: 84 msg/s, steady 97 msg/s, ratio 0.87
//   RSS after 100,000 deliveries: worker 182 MB (+4.1 % over 10,000), relay 160 MB (+0.8 % over 10,000)
// and exits 1 when a target is missed (drain ÷ steady ≥ 0.8; each RSS within ±10 % of its first reading) or a
// backlog message never arrived.
//
// Flags (or env): --backlog N (BENCH_BACKLOG, 20,000) --deliveries N (BENCH_DELIVERIES, 100,000)
//   --clients N (BENCH_CLIENTS, 20) --keep (keep the logs)
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { positiveInt } from './lib/args.ts';
import { runLoad, type LoadSummary } from './lib/load.ts';
import { freePort, sleep } from './lib/peers.ts';
import { vmRssKb } from './lib/proc-stats.ts';
import { duration, fmt, table, ticker } from './lib/report.ts';
import { startSinkProcess, type SinkProcess } from './lib/sink.ts';
import { bootstrap, openDatabase, roleProcess, type Credentials, type RoleProcess } from './lib/smtpdesk.ts';
import type { StatsSnapshot } from '../src/metrics.ts';

const { values: flags } = parseArgs({
  options: { backlog: { type: 'string' }, deliveries: { type: 'string' }, clients: { type: 'string' }, keep: { type: 'boolean' } },
  strict: true,
});
const BACKLOG = positiveInt(flags.backlog, process.env.BENCH_BACKLOG, 20_000);
const DELIVERIES = positiveInt(flags.deliveries, process.env.BENCH_DELIVERIES, 100_000);
const CLIENTS = positiveInt(flags.clients, process.env.BENCH_CLIENTS, 20);
const CHECKPOINT = Math.ceil(DELIVERIES / 10);
const MIN_STEADY_MS = 20_000;
/** The first seconds of a steady phase (connections, AUTH, the worker's first claims) are not measured. */
const WARMUP_MS = 5_000;
/** No phase waits longer than this for its count: at 1 msg/s the defaults would still end. */
const PHASE_LIMIT_MS = 3 * 3600_000;
/** A drain that delivers nothing for this long has stalled. */
const STALL_MS = 120_000;
const RETRY_DELAY = '5s';
const DRAIN_TARGET = 0.8;
const RSS_TARGET = 0.1;
/** Each workspace's plan allows 100,000 emails a month: the load is spread over enough of them. */
const PLAN_EMAILS = 100_000;

const say = (msg: string) => process.stderr.write(`[bench:drain ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface RssPoint {
  deliveries: number;
  phase: string;
  workerMb: number;
  relayMb: number;
  /** V8's heap (held / used) and native buffers (external), MB, from each process's stats file. */
  worker?: StatsSnapshot['memoryMb'];
  relay?: StatsSnapshot['memoryMb'];
  workerSockets: number;
  relaySockets: number;
}

/** Reads the relay's and the worker's RSS each time the deliveries pass a checkpoint, and where it goes. */
function watchRss(sink: SinkProcess, relay: RoleProcess, worker: RoleProcess, phase: () => string): { points: RssPoint[]; stop(): void } {
  const points: RssPoint[] = [];
  let next = CHECKPOINT;
  const mb = (p: RoleProcess) => vmRssKb(p.pid() ?? -1) / 1024;
  // The breakdown comes a moment after the RSS reading (a signal and a file); a missing one is left out.
  const breakdown = (p: RoleProcess) =>
    p.stats().then(
      (s) => s.memoryMb,
      () => undefined,
    );
  const t = setInterval(() => {
    if (sink.total() < next || next > DELIVERIES) return;
    const point: RssPoint = {
      deliveries: next,
      phase: phase(),
      workerMb: mb(worker),
      relayMb: mb(relay),
      workerSockets: socketCount(worker.pid()),
      relaySockets: socketCount(relay.pid()),
    };
    points.push(point);
    next += CHECKPOINT;
    void Promise.all([breakdown(worker), breakdown(relay)]).then(([w, r]) => {
      point.worker = w;
      point.relay = r;
    });
  }, 250);
  return { points, stop: () => clearInterval(t) };
}

function heapCell(m: StatsSnapshot['memoryMb'] | undefined, sockets: number): string {
  return m ? `${fmt(m.heapTotal)} (${fmt(m.newSpace)}/${fmt(m.oldSpace)}/${fmt(m.largeObjects)})/${fmt(m.heapUsed)}, ${fmt(m.external)}, ${sockets}` : '';
}

/** Open sockets of a process (its /proc fd table): database connections, SMTP sessions, listeners. */
function socketCount(pid: number | undefined): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}

interface SteadyResult {
  load: LoadSummary;
  acceptedPerS: number;
  deliveredPerS: number;
}

/**
 * Pooled clients send until the run has `until` deliveries (and for MIN_STEADY_MS at least). The rates are taken
 * from the end of the warm-up to the moment the count is reached.
 */
async function steady(port: number, accounts: Credentials[], sink: SinkProcess, until: number, runId: string): Promise<SteadyResult> {
  const start = Date.now();
  let accepted = 0;
  const progress = ticker(5000, () => `[bench:drain] ${runId}: ${fmt(accepted)} accepted, ${fmt(sink.total())} of ${fmt(until)} delivered`);
  const stop = new AbortController();
  const load = runLoad({
    host: '127.0.0.1',
    port,
    accounts: accounts.map((c) => ({ user: c.username, pass: c.password })),
    clients: CLIENTS,
    mode: 'pooled',
    largeShare: 0,
    durationMs: PHASE_LIMIT_MS,
    signal: stop.signal,
    runId,
    onResult: (r) => {
      if (r.outcome === 'accepted') accepted++;
    },
  });
  let from = { at: start, delivered: sink.total(), accepted: 0 };
  let warm = false;
  let moved = { at: start, delivered: sink.total() };
  while (sink.total() < until || Date.now() - start < MIN_STEADY_MS) {
    if (sink.total() !== moved.delivered) moved = { at: Date.now(), delivered: sink.total() };
    if (Date.now() - start > PHASE_LIMIT_MS || Date.now() - moved.at > STALL_MS) {
      stop.abort();
      await load;
      progress.stop();
      throw new Error(`${runId}: nothing delivered for ${duration(Date.now() - moved.at)}, ${fmt(sink.total())} of ${fmt(until)} in all`);
    }
    if (!warm && Date.now() - start >= WARMUP_MS) [warm, from] = [true, { at: Date.now(), delivered: sink.total(), accepted }];
    await sleep(200);
  }
  const s = (Date.now() - from.at) / 1000;
  const rates = { acceptedPerS: (accepted - from.accepted) / s, deliveredPerS: (sink.total() - from.delivered) / s };
  stop.abort();
  const summary = await load;
  progress.stop();
  return { load: summary, ...rates };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-drain-'));
  const logDir = join(work, 'logs');
  say(`backlog ${fmt(BACKLOG)}, ${fmt(DELIVERIES)} deliveries in all, ${CLIENTS} pooled clients; logs in ${logDir}`);
  const db = await openDatabase(`drain${Date.now()}`, join(work, 'ferretdb'));
  const workspaces = Math.ceil((DELIVERIES + BACKLOG) / (PLAN_EMAILS * 0.8));
  const accounts: Credentials[] = [];
  for (let i = 0; i < workspaces; i++) accounts.push(...(await bootstrap(db.uri, `drain-${i}`, [`drain-${i}`])));
  // The next hop, on a fixed port: stopped, the port refuses connections; its counts go on across restarts.
  const sink = await startSinkProcess({ port: await freePort() });
  const relayPort = await freePort();
  const env = {
    MONGODB_URI: db.uri,
    SMTPDESK_DATA_DIR: join(work, 'data'),
    // As in production (the harness waits for ROLE_STARTED, an info line): a line per message, in files.
    LOG_LEVEL: 'info',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(relayPort),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
    RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sink.port}`,
    DELIVERY_RETRY_SCHEDULE: `${RETRY_DELAY}*1000`,
    DELIVERY_SEND_BOUNCES: 'false',
  };
  const relay = roleProcess({ role: 'relay', env, logDir, port: relayPort, statsFile: join(work, 'relay-stats.json') });
  const worker = roleProcess({ role: 'worker', env, logDir, statsFile: join(work, 'worker-stats.json') });
  let phase = 'steady 1';
  const rss = watchRss(sink, relay, worker, () => phase);
  let failed = false;
  try {
    await relay.start();
    await worker.start();
    // 1. steady
    say(`steady 1: until ${fmt(CHECKPOINT)} deliveries`);
    const s1 = await steady(relayPort, accounts, sink, CHECKPOINT, 'steady-1');
    say(`steady 1: accepted ${fmt(s1.acceptedPerS, 1)}/s, delivered ${fmt(s1.deliveredPerS, 1)}/s; waiting for the queue to empty`);
    await waitForSink(sink, s1.load.accepted, 'steady 1, the rest of the queue');

    // 2. fill, the next hop refusing
    phase = 'fill';
    await sink.stop();
    say(`fill: the next hop is down (connections refused); sending ${fmt(BACKLOG)} messages`);
    let filled = 0;
    const fillProgress = ticker(5000, () => `[bench:drain] fill: ${fmt(filled)} of ${fmt(BACKLOG)} accepted`);
    const fill = await runLoad({
      host: '127.0.0.1',
      port: relayPort,
      accounts: accounts.map((c) => ({ user: c.username, pass: c.password })),
      clients: CLIENTS,
      mode: 'pooled',
      largeShare: 0,
      durationMs: PHASE_LIMIT_MS,
      maxMessages: BACKLOG,
      runId: 'fill',
      onResult: (r) => {
        if (r.outcome === 'accepted') filled++;
      },
    });
    fillProgress.stop();
    say(`fill: ${fmt(fill.accepted)} accepted in ${duration(fill.elapsedMs)} (${fmt(fill.accepted / (fill.elapsedMs / 1000), 1)}/s)`);

    // 3. drain
    phase = 'drain';
    await sink.start();
    const back = Date.now();
    say(`drain: the next hop is back; waiting for ${fmt(fill.accepted)} messages`);
    const before = sink.received.size;
    const drained = (await waitForSink(sink, before + fill.accepted, 'drain', before)) - before;
    const arrivals = [...sink.firstAt].filter(([id]) => id.startsWith('fill.')).map(([, at]) => at);
    const firstAt = arrivals.length ? Math.min(...arrivals) : back;
    const lastAt = arrivals.length ? Math.max(...arrivals) : back;
    const drainPerS = arrivals.length > 1 ? drained / ((lastAt - firstAt) / 1000) : 0;
    say(`drain: ${fmt(drained)} in ${duration(lastAt - firstAt)} (${fmt(drainPerS, 1)}/s), the first ${duration(firstAt - back)} after the next hop came back`);
    const stalled = drained < fill.accepted;

    // 4. steady, until DELIVERIES in all (not after a drain that stalled: nothing would be delivered)
    phase = 'steady 2';
    let s2: SteadyResult | null = null;
    if (stalled) say(`drain stalled at ${fmt(drained)} of ${fmt(fill.accepted)}: no second steady phase`);
    else if (sink.total() < DELIVERIES) {
      say(`steady 2: until ${fmt(DELIVERIES)} deliveries`);
      s2 = await steady(relayPort, accounts, sink, DELIVERIES, 'steady-2');
      await waitForSink(sink, before + drained + s2.load.accepted, 'steady 2, the rest of the queue');
    }
    await sleep(500);
    rss.stop();

    const lost = fill.accepted - drained;
    const drainRatio = drainPerS / s1.deliveredPerS;
    const points = rss.points;
    const first = points[0];
    const last = points.length > 1 ? points.at(-1) : undefined;
    const growth = (a: number, b: number) => (b - a) / a;
    const rows = [
      { what: 'steady 1: accepted / delivered per s', value: `${fmt(s1.acceptedPerS, 1)} / ${fmt(s1.deliveredPerS, 1)}`, target: '' },
      ...(s2 ? [{ what: 'steady 2: accepted / delivered per s', value: `${fmt(s2.acceptedPerS, 1)} / ${fmt(s2.deliveredPerS, 1)}`, target: '' }] : []),
      { what: 'fill: accepted while the next hop refused', value: fmt(fill.accepted), target: '' },
      { what: 'drain: backlog delivered per s', value: fmt(drainPerS, 1), target: '' },
      { what: 'drain ÷ steady 1 delivered', value: fmt(drainRatio, 2), target: verdict(drainRatio >= DRAIN_TARGET, `≥ ${DRAIN_TARGET}`) },
      { what: 'backlog messages that never reached the sink', value: fmt(lost), target: verdict(lost === 0, '0') },
    ];
    failed ||= !(drainRatio >= DRAIN_TARGET) || lost !== 0;
    if (first && last) {
      const w = growth(first.workerMb, last.workerMb);
      const r = growth(first.relayMb, last.relayMb);
      rows.push({
        what: `RSS growth ${fmt(first.deliveries)} → ${fmt(last.deliveries)} deliveries: worker / relay`,
        value: `${pct(w)} / ${pct(r)}`,
        target: verdict(Math.abs(w) <= RSS_TARGET && Math.abs(r) <= RSS_TARGET, 'within ±10 %'),
      });
      failed ||= !(Math.abs(w) <= RSS_TARGET && Math.abs(r) <= RSS_TARGET);
    }
    process.stdout.write(
      `\n${table(points, [
        { header: 'deliveries', value: (p) => fmt(p.deliveries), align: 'right' },
        { header: 'phase', value: (p) => p.phase },
        { header: 'worker RSS MB', value: (p) => fmt(p.workerMb), align: 'right' },
        { header: 'relay RSS MB', value: (p) => fmt(p.relayMb), align: 'right' },
        { header: 'worker heap held (new/old/large)/used, external, sockets', value: (p) => heapCell(p.worker, p.workerSockets), align: 'right' },
        { header: 'relay heap held (new/old/large)/used, external, sockets', value: (p) => heapCell(p.relay, p.relaySockets), align: 'right' },
      ])}\n\n${table(rows, [
        { header: 'figure', value: (r) => r.what },
        { header: 'value', value: (r) => r.value, align: 'right' },
        { header: 'target', value: (r) => r.target },
      ])}\n\n`,
    );
    process.stdout.write(`drain: ${fmt(drainPerS)} msg/s, steady ${fmt(s1.deliveredPerS)} msg/s, ratio ${fmt(drainRatio, 2)}\n`);
    if (first && last)
      process.stdout.write(
        `RSS after ${fmt(last.deliveries)} deliveries: worker ${fmt(last.workerMb)} MB (${pct(growth(first.workerMb, last.workerMb))} over ${fmt(first.deliveries)}), ` +
          `relay ${fmt(last.relayMb)} MB (${pct(growth(first.relayMb, last.relayMb))} over ${fmt(first.deliveries)})\n`,
      );
  } finally {
    rss.stop();
    await worker.stop();
    await relay.stop();
    await sink.close();
    await db.dispose();
  }
  if (flags.keep || failed) process.stdout.write(`server logs: ${logDir}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${fmt(100 * x, 1)} %`;
const verdict = (ok: boolean, target: string) => `${target} ${ok ? 'met' : 'MISSED'}`;

/**
 * Waits until the sink holds `n` distinct messages (or nothing arrives for STALL_MS); returns how many it holds.
 * Progress counts from `base` (what the sink held before this wait).
 */
async function waitForSink(sink: SinkProcess, n: number, what: string, base = 0): Promise<number> {
  let last = -1;
  let movedAt = Date.now();
  const progress = ticker(5000, () => `[bench:drain] ${what}: ${fmt(sink.received.size - base)} of ${fmt(n - base)} at the sink`);
  try {
    while (sink.received.size < n) {
      if (sink.received.size !== last) [last, movedAt] = [sink.received.size, Date.now()];
      if (Date.now() - movedAt > STALL_MS) {
        say(`${what}: nothing reached the sink for ${duration(STALL_MS)}; giving up at ${fmt(sink.received.size)} of ${fmt(n)}`);
        break;
      }
      await sleep(200);
    }
  } finally {
    progress.stop();
  }
  return sink.received.size;
}

main().catch((err) => {
  process.stderr.write(`bench:drain failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
