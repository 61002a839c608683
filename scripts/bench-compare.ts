// npm run bench:compare — the same SMTP load against smtpdesk and the servers people already trust,
// one server at a time on this machine, several rounds, medians and ratios. Loopback only.
//
//   smtpdesk   relay (AUTH, 250 only after the message is durably in the queue) + delivery worker to a sink,
//              against a dedicated FerretDB (or MONGODB_URI)
//   postfix    Debian's Postfix, isolated instance, SASL (Cyrus sasldb) on submission, relayhost = smtp-sink
//   haraka     Haraka from npm, auth/flat_file + queue/smtp_forward to smtp-sink
//   node-sink  a bare smtp-server that accepts and discards: Node's ceiling for this client
//
// Accepted and delivered, side by side: each relay forwards to one sink that counts what it receives (Postfix's
// smtp-sink -c, or the recording Node sink), and the messages that reached it during a measurement are that
// server's deliveries in the same window as its 250s. delivered ÷ accepted is its sustained relaying: below 1 its
// queue grows for as long as the load lasts (smtpdesk's target is ≥ 0.9). node-sink delivers nothing.
//
// For smtpdesk it also counts the database commands per accepted message, by process and command name, from
// the processes' own smtpdesk_db_commands_total (SMTPDESK_STATS_FILE + SIGUSR2 at the start and end of each
// measurement; see docs/performance.md, Counting database commands).
//
// Flags (or env): --clients N (BENCH_CLIENTS, 50) --seconds S (BENCH_SECONDS, 15) --rounds R (BENCH_ROUNDS, 3)
//   --warmup S (3) --modes per-message,pooled --servers smtpdesk,postfix,haraka,node-sink --no-docs --scratch DIR
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, writeFileSync as writeFile } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad, percentile, SMALL_SIZE, LARGE_SIZE, type LoadMode } from './lib/load.ts';
import { TreeMonitor, processTree } from './lib/proc-stats.ts';
import { startSinkProcess } from './lib/sink.ts';
import { DEFAULT_SCRATCH, ROOT, freePort, installPeers, log, startHaraka, startNodeSink, startPostfix, startSmtpSink, type RunningServer } from './lib/peers.ts';
import { bootstrap, openDatabase, roleProcess, type Database, type RoleProcess } from './lib/smtpdesk.ts';
import { fmt, median, ratio, table } from './lib/report.ts';
import { dbWindow, perMessage, perUnit, type StatsSnapshot } from './lib/db-stats.ts';

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    modes: { type: 'string' },
    servers: { type: 'string' },
    scratch: { type: 'string' },
    'no-docs': { type: 'boolean' },
  },
  strict: true,
});
const num = (flag: string | undefined, env: string, def: number) => {
  const v = Number(flag ?? process.env[env] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${env}: expected a positive number`);
  return v;
};
const CLIENTS = num(flags.clients, 'BENCH_CLIENTS', 50);
const SECONDS = num(flags.seconds, 'BENCH_SECONDS', 15);
const ROUNDS = num(flags.rounds, 'BENCH_ROUNDS', 3);
const WARMUP = Number(flags.warmup ?? process.env.BENCH_WARMUP ?? 3);
const MODES = (flags.modes ?? process.env.BENCH_MODES ?? 'per-message,pooled').split(',') as LoadMode[];
const SERVERS = (flags.servers ?? process.env.BENCH_SERVERS ?? 'smtpdesk,postfix,haraka,node-sink').split(',');
const SCRATCH = flags.scratch ?? process.env.BENCH_SCRATCH ?? DEFAULT_SCRATCH;
const LARGE_SHARE = 0.2;
/** smtpdesk's delivered ÷ accepted over a measurement: the worker keeps up with the relay. */
const SUSTAINED_TARGET = 0.9;
const USER = 'bench';
const PASS = 'bench-Secret-0123456789';

interface Sample {
  server: string;
  mode: LoadMode;
  round: number;
  rate: number;
  /** Messages that reached the sink per second, in the same window (undefined: the server delivers nowhere). */
  deliveredRate?: number;
  p50: number;
  p99: number;
  cpu: number;
  cpuPerMsg: number;
  peakMb: number;
  accepted: number;
  failed: number;
  firstError?: string;
  dbCpu?: number;
  /** smtpdesk: database commands per accepted message, by process (relay, worker) then command name (+ `all`). */
  dbPerMsg?: Record<string, Record<string, number>>;
  /** smtpdesk: the worker's commands per message it delivered in the window (it may lag behind the relay). */
  dbWorkerPerDelivered?: Record<string, number>;
  /** smtpdesk: what the relay accepted and the worker delivered in the window (from their own counters). */
  dbAccepted?: number;
  dbDelivered?: number;
}

/** One server under test: started fresh for each round, measured per mode. */
interface Contender {
  name: string;
  start(round: number): Promise<{
    port: number;
    auth: { user: string; pass: string };
    roots: () => number[];
    dbRoots?: () => number[];
    /** smtpdesk: each role process's counters now, by role. */
    stats?: () => Promise<Record<string, StatsSnapshot>>;
    /** smtpdesk: the worker's first error or warning line (code and message), if any. */
    workerProblem?: () => string | undefined;
    /** Whether it relays to the sink (node-sink does not): its deliveries are the sink's count. */
    delivers: boolean;
    stop(): Promise<void>;
  }>;
  note: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`bench:compare — ${CLIENTS} clients, ${SECONDS} s per measurement, ${ROUNDS} rounds, modes ${MODES.join(', ')}`);
  mkdirSync(SCRATCH, { recursive: true });
  const missing: Record<string, string> = {};
  const wantPostfix = SERVERS.includes('postfix') || SERVERS.includes('haraka'); // smtp-sink comes with Postfix
  const toInstall = [...(wantPostfix ? ['postfix'] : []), ...(SERVERS.includes('haraka') ? ['haraka'] : [])];
  if (toInstall.length) {
    for (const p of installPeers(SCRATCH, toInstall)) missing[p] = 'could not be installed (see the output above)';
  }

  // The upstream every relay forwards to: Postfix's smtp-sink when there is one, else the Node sink.
  const sinkPort = await freePort();
  let sink: RunningServer;
  try {
    sink = await startSmtpSink(sinkPort);
  } catch (err) {
    log(`smtp-sink unavailable (${(err as Error).message.split('\n')[0]}); relays forward to a Node sink instead`);
    const node = await startSinkProcess({ port: sinkPort });
    sink = { name: 'node-sink', port: sinkPort, pids: () => [node.pid() ?? -1], stop: () => node.close(), received: () => node.total() };
  }
  const sinkCount = () => sink.received?.() ?? NaN;

  const work = join(tmpdir(), `smtpdesk-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  let db: Database | null = null;
  const contenders: Contender[] = [];
  const notes: string[] = [];

  if (SERVERS.includes('smtpdesk')) {
    try {
      db = await openDatabase(`bench${Date.now()}`, join(work, 'ferretdb'));
      const database = db;
      const workerInBuild = /\bworker:\s*async/.test(readFileSync(join(ROOT, 'src', 'roles.ts'), 'utf8'));
      // BENCH_SMTPDESK_WORKER=0 measures the relay alone (to tell the relay's cost from the worker's).
      const workerAvailable = workerInBuild && process.env.BENCH_SMTPDESK_WORKER !== '0';
      if (!workerInBuild) notes.push('smtpdesk: the delivery worker is not in this build, so the relay ran alone (messages stayed queued).');
      else if (!workerAvailable) notes.push('smtpdesk: BENCH_SMTPDESK_WORKER=0, the relay ran alone (messages stayed queued).');
      contenders.push({
        name: 'smtpdesk',
        note: `relay${workerAvailable ? ' + worker' : ''}, ${process.env.MONGODB_URI ? 'MONGODB_URI' : 'FerretDB (SQLite)'}, bcrypt cost 12 + credential cache`,
        async start(round) {
          const [cred] = await bootstrap(database.uri, `bench-r${round}-${Date.now().toString(36)}`, ['bench-load']);
          const port = await freePort();
          const env = {
            MONGODB_URI: database.uri,
            SMTPDESK_DATA_DIR: join(work, 'data'),
            RELAY_HOST: '127.0.0.1',
            RELAY_PORT: String(port),
            RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
            RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sinkPort}`,
            RELAY_UPSTREAM_TLS_VERIFY: 'false',
            LOG_LEVEL: 'info',
          };
          const logDir = join(work, 'logs', `r${round}`);
          const statsFile = (role: string) => join(work, `stats-r${round}-${role}.json`);
          const procs: RoleProcess[] = [roleProcess({ role: 'relay', env, logDir, port, statsFile: statsFile('relay') })];
          if (workerAvailable) procs.push(roleProcess({ role: 'worker', env, logDir, statsFile: statsFile('worker') }));
          for (const p of procs) await p.start();
          return {
            port,
            auth: { user: cred!.username, pass: cred!.password },
            roots: () => procs.map((p) => p.pid()).filter((x): x is number => x !== undefined),
            dbRoots: () => database.pids(),
            delivers: workerAvailable,
            workerProblem: () => firstProblem(join(logDir, 'worker.log')),
            async stats() {
              const snaps = await Promise.all(procs.map(async (p) => [p.role, await p.stats()] as const));
              return Object.fromEntries(snaps);
            },
            async stop() {
              for (const p of procs) await p.stop();
            },
          };
        },
      });
    } catch (err) {
      missing.smtpdesk = `could not start: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  if (SERVERS.includes('postfix') && !missing.postfix) {
    let saslNote = 'SASL PLAIN/LOGIN (Cyrus sasldb)';
    contenders.push({
      name: 'postfix',
      get note() {
        return `Debian Postfix, queue fsync before 250, ${saslNote}, relayhost = smtp-sink`;
      },
      async start() {
        const port = await freePort();
        const pf = await startPostfix({ dir: join(SCRATCH, 'postfix-instance'), port, relayPort: sinkPort, user: USER, pass: PASS });
        if (!pf.sasl) saslNote = 'WITHOUT AUTH (Cyrus SASL setup failed)';
        return { port, auth: { user: USER, pass: PASS }, roots: pf.pids, stop: pf.stop, delivers: true };
      },
    });
  }
  if (SERVERS.includes('haraka') && !missing.haraka) {
    contenders.push({
      name: 'haraka',
      note: 'Haraka (npm), auth/flat_file, queue/smtp_forward to smtp-sink (250 after the sink accepted)',
      async start() {
        const port = await freePort();
        const h = await startHaraka({ scratch: SCRATCH, dir: join(work, 'haraka'), port, relayPort: sinkPort, user: USER, pass: PASS });
        return { port, auth: { user: USER, pass: PASS }, roots: h.pids, stop: h.stop, delivers: true };
      },
    });
  }
  if (SERVERS.includes('node-sink')) {
    contenders.push({
      name: 'node-sink',
      note: 'bare smtp-server, AUTH by string compare, discards: Node’s ceiling',
      async start() {
        const port = await freePort();
        const s = await startNodeSink(port, { user: USER, pass: PASS });
        return { port, auth: { user: USER, pass: PASS }, roots: s.pids, stop: s.stop, delivers: false };
      },
    });
  }

  const samples: Sample[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotate the order each round so no server always runs first (or last) on the noisy machine.
      const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]!);
      for (const c of order) {
        let running;
        try {
          running = await c.start(round);
        } catch (err) {
          missing[c.name] = `failed to start: ${(err as Error).message.split('\n')[0]}`;
          log(`${c.name}: ${missing[c.name]}`);
          continue;
        }
        try {
          for (const mode of MODES) {
            if (WARMUP > 0) {
              await runLoad({
                host: '127.0.0.1',
                port: running.port,
                accounts: [running.auth],
                clients: CLIENTS,
                mode,
                durationMs: WARMUP * 1000,
                largeShare: LARGE_SHARE,
                runId: `warm-${c.name}-${round}-${mode}`,
              });
            }
            const roots = () => [...running.roots(), ...(running.dbRoots?.() ?? [])];
            resetPeaks(roots());
            const statsBefore = await running.stats?.();
            const mon = new TreeMonitor(roots);
            const dbMon = running.dbRoots ? new TreeMonitor(running.dbRoots) : null;
            mon.start();
            dbMon?.start();
            const sinkBefore = sinkCount();
            const r = await runLoad({
              host: '127.0.0.1',
              port: running.port,
              accounts: [running.auth],
              clients: CLIENTS,
              mode,
              durationMs: SECONDS * 1000,
              largeShare: LARGE_SHARE,
              runId: `bench-${c.name}-${round}-${mode}-${Date.now().toString(36)}`,
            });
            const sinkAfter = sinkCount();
            const usage = mon.stop();
            const dbUsage = dbMon?.stop();
            const statsAfter = await running.stats?.();
            // No command counted at all: the processes run with SMTPDESK_DB_COMMAND_METRICS=false.
            const win0 = statsBefore && statsAfter ? dbWindow(statsBefore, statsAfter) : undefined;
            const win = win0 && Object.values(win0.commands).some((c) => Object.keys(c).length) ? win0 : undefined;
            const s: Sample = {
              server: c.name,
              mode,
              round,
              rate: r.accepted / (r.elapsedMs / 1000),
              ...(running.delivers ? { deliveredRate: (sinkAfter - sinkBefore) / (r.elapsedMs / 1000) } : {}),
              p50: percentile(r.latenciesMs, 50),
              p99: percentile(r.latenciesMs, 99),
              cpu: usage.cpuSeconds,
              cpuPerMsg: r.accepted ? (usage.cpuSeconds * 1000) / r.accepted : NaN,
              peakMb: usage.peakMb,
              accepted: r.accepted,
              failed: r.rejected + r.noAnswer,
              firstError: r.firstError,
              dbCpu: dbUsage?.cpuSeconds,
              dbPerMsg: win ? perMessage(win) : undefined,
              dbWorkerPerDelivered: win?.commands.worker ? perUnit(win.commands.worker, win.delivered) : undefined,
              dbAccepted: win?.accepted,
              dbDelivered: win?.delivered,
            };
            if (win && win.accepted > 0 && win.delivered === 0 && win.commands.worker) {
              const why = running.workerProblem?.();
              const note = `${c.name}: the worker delivered nothing during the ${mode} measurement${why ? ` (its log: ${why})` : ''}; its commands per delivered message are not known.`;
              if (!notes.includes(note)) notes.push(note);
              log(note);
            }
            samples.push(s);
            log(
              `round ${round} ${c.name.padEnd(9)} ${mode.padEnd(11)} ${fmt(s.rate).padStart(5)} msg/s accepted${s.deliveredRate !== undefined ? `, ${fmt(s.deliveredRate).padStart(5)} delivered` : ''}  p50 ${fmt(s.p50, 1)} ms  p99 ${fmt(s.p99, 1)} ms  ` +
                `cpu ${fmt(s.cpu, 1)} s${s.dbCpu !== undefined ? ` (db ${fmt(s.dbCpu, 1)}, rest ${fmt(((s.cpu - s.dbCpu) * 1000) / s.accepted, 2)} ms/msg)` : ''}  peak ${fmt(s.peakMb)} MB${s.dbPerMsg ? `  db ${dbLine(s.dbPerMsg, s.dbWorkerPerDelivered)} cmd/msg` : ''}${s.failed ? `  failed ${s.failed} (${s.firstError})` : ''}`,
            );
          }
        } finally {
          await running.stop().catch((err) => log(`${c.name}: stop failed: ${(err as Error).message}`));
        }
      }
    }
  } finally {
    await sink.stop();
    await db?.dispose().catch(() => undefined);
  }

  const report = render(samples, contenders, missing, notes, Date.now() - started);
  process.stdout.write(`\n${report.text}\n`);
  if (!flags['no-docs']) {
    updateDocs(report.markdown);
    log(`docs/performance.md updated`);
  }
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  if (Object.keys(missing).length) process.exitCode = samples.length ? 0 : 1;
}

/** The first error or warning in a role's JSON log: "CODE: message (err.message)". */
function firstProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!/^\{"level":(40|50|60)\b/.test(line)) continue;
    try {
      const v = JSON.parse(line) as { code?: string; msg?: string; err?: { message?: string } };
      return `${v.code ?? 'no code'}: ${v.msg ?? ''}${v.err?.message ? ` (${v.err.message.slice(0, 160)})` : ''}`;
    } catch {
      return line.slice(0, 200);
    }
  }
  return undefined;
}

/** Writing 5 to clear_refs resets VmHWM, so each measurement's peak is its own (root only; else ignored). */
function resetPeaks(roots: number[]): void {
  for (const pid of processTree(roots)) {
    try {
      writeFile(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // not permitted: the peak then covers the process's life so far
    }
  }
}

interface Row {
  server: string;
  rate: number;
  /** Median over rounds of delivered per second, and of each round's delivered ÷ accepted. */
  deliveredRate?: number;
  sustained?: number;
  p50: number;
  p99: number;
  cpu: number;
  cpuPerMsg: number;
  peakMb: number;
  failed: number;
  dbCpu?: number;
  /** Medians over rounds, cell by cell: process → command → commands per accepted message. */
  dbPerMsg?: Record<string, Record<string, number>>;
  dbWorkerPerDelivered?: Record<string, number>;
  dbAccepted?: number;
  dbDelivered?: number;
  n: number;
}

/** Commands per accepted message in all (relay + worker). */
const dbTotal = (per: Record<string, Record<string, number>>): number => Object.values(per).reduce((n, cmds) => n + (cmds.all ?? 0), 0);

/** "8.0 (relay 5.0 + worker 3.0; worker 4.1 per delivered)" */
function dbLine(per: Record<string, Record<string, number>>, workerPerDelivered?: Record<string, number>): string {
  const parts = Object.entries(per).map(([role, cmds]) => `${role} ${fmt(cmds.all ?? NaN, 1)}`);
  const wd = !workerPerDelivered ? '' : Number.isFinite(workerPerDelivered.all) ? `; worker ${fmt(workerPerDelivered.all!, 1)} per delivered` : '; worker delivered none';
  return `${fmt(dbTotal(per), 1)} (${parts.join(' + ')}${wd})`;
}

/** Cell-by-cell medians of the rounds' per-message tables. */
function medianPerMsg(tables: Record<string, Record<string, number>>[]): Record<string, Record<string, number>> | undefined {
  if (!tables.length) return undefined;
  const out: Record<string, Record<string, number>> = {};
  const roles = [...new Set(tables.flatMap((t) => Object.keys(t)))];
  for (const role of roles) {
    const names = [...new Set(tables.flatMap((t) => Object.keys(t[role] ?? {})))];
    out[role] = Object.fromEntries(names.map((name) => [name, median(tables.map((t) => t[role]?.[name] ?? 0))]));
  }
  return out;
}

/** The breakdown of smtpdesk's database commands per accepted message: one row per process, one column per command. */
function dbBreakdown(row: Row, markdown: boolean): string {
  const per = row.dbPerMsg!;
  const roles = Object.keys(per);
  const totals: Record<string, number> = {};
  for (const cmds of Object.values(per)) for (const [name, v] of Object.entries(cmds)) totals[name] = (totals[name] ?? 0) + v;
  const names = Object.keys(totals)
    .filter((n) => n !== 'all')
    .sort((a, b) => totals[b]! - totals[a]! || a.localeCompare(b));
  type R = { process: string; cmds: Record<string, number> };
  const rows: R[] = [...roles.map((r) => ({ process: `${r} ÷ accepted`, cmds: per[r]! })), ...(roles.length > 1 ? [{ process: 'total ÷ accepted', cmds: totals }] : [])];
  const wd = row.dbWorkerPerDelivered;
  if (wd && per.relay && Number.isFinite(wd.all)) {
    // The worker may lag behind the relay (or catch up on a backlog) within a window: its work per message it
    // delivered, added to the relay's per message it accepted, is the cost of one message through both.
    const through: Record<string, number> = {};
    for (const cmds of [per.relay, wd]) for (const [name, v] of Object.entries(cmds)) through[name] = (through[name] ?? 0) + (Number.isFinite(v) ? v : 0);
    rows.push({ process: 'worker ÷ delivered', cmds: wd }, { process: 'relay ÷ acc. + worker ÷ deliv.', cmds: through });
  }
  return table<R>(
    rows,
    [
      { header: 'process', value: (r) => r.process },
      ...names.map((n) => ({ header: n, value: (r: R) => fmt(r.cmds[n] ?? 0, 2), align: 'right' as const })),
      { header: 'all', value: (r) => fmt(r.cmds.all ?? NaN, 2), align: 'right' as const },
    ],
    { markdown },
  );
}

function render(samples: Sample[], contenders: Contender[], missing: Record<string, string>, notes: string[], elapsedMs: number) {
  const text: string[] = [];
  const md: string[] = [];
  const machine = machineLine();
  const head = `${CLIENTS} parallel clients, ${SECONDS} s per measurement, ${ROUNDS} rounds (medians), message mix ${100 - LARGE_SHARE * 100}% ${SMALL_SIZE / 1024} KB / ${LARGE_SHARE * 100}% ${LARGE_SIZE / 1024} KB, loopback; ${machine}`;
  text.push(`bench:compare — ${head}`);
  md.push(`Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${head}.`, '');
  const tracked: { mode: LoadMode; rows: Row[] }[] = [];
  for (const mode of MODES) {
    const rows: Row[] = contenders
      .map((c) => {
        const ss = samples.filter((s) => s.server === c.name && s.mode === mode);
        const withDb = ss.filter((s) => s.dbPerMsg);
        return {
          server: c.name,
          rate: median(ss.map((s) => s.rate)),
          ...(ss.some((s) => s.deliveredRate !== undefined)
            ? { deliveredRate: median(ss.map((s) => s.deliveredRate ?? NaN)), sustained: median(ss.map((s) => (s.deliveredRate ?? NaN) / s.rate)) }
            : {}),
          p50: median(ss.map((s) => s.p50)),
          p99: median(ss.map((s) => s.p99)),
          cpu: median(ss.map((s) => s.cpu)),
          cpuPerMsg: median(ss.map((s) => s.cpuPerMsg)),
          peakMb: median(ss.map((s) => s.peakMb)),
          failed: ss.reduce((n, s) => n + s.failed, 0),
          dbCpu: ss.some((s) => s.dbCpu !== undefined) ? median(ss.map((s) => s.dbCpu ?? NaN)) : undefined,
          dbPerMsg: medianPerMsg(withDb.map((s) => s.dbPerMsg!)),
          dbWorkerPerDelivered: medianPerMsg(withDb.filter((s) => s.dbWorkerPerDelivered).map((s) => ({ w: s.dbWorkerPerDelivered! })))?.w,
          dbAccepted: withDb.length ? median(withDb.map((s) => s.dbAccepted ?? NaN)) : undefined,
          dbDelivered: withDb.length ? median(withDb.map((s) => s.dbDelivered ?? NaN)) : undefined,
          n: ss.length,
        };
      })
      .filter((r) => r.n > 0);
    tracked.push({ mode, rows });
    const desk = rows.find((r) => r.server === 'smtpdesk');
    const cols = [
      { header: 'server', value: (r: Row) => r.server },
      { header: 'accepted/s', value: (r: Row) => fmt(r.rate), align: 'right' as const },
      { header: 'delivered/s', value: (r: Row) => (r.deliveredRate === undefined ? '' : fmt(r.deliveredRate)), align: 'right' as const },
      { header: 'delivered ÷ accepted', value: (r: Row) => (r.sustained === undefined ? '' : fmt(r.sustained, 2)), align: 'right' as const },
      { header: 'p50 ms', value: (r: Row) => fmt(r.p50, 1), align: 'right' as const },
      { header: 'p99 ms', value: (r: Row) => fmt(r.p99, 1), align: 'right' as const },
      { header: 'CPU s', value: (r: Row) => fmt(r.cpu, 1) + (r.dbCpu !== undefined ? ` (db ${fmt(r.dbCpu, 1)})` : ''), align: 'right' as const },
      { header: 'CPU ms/msg', value: (r: Row) => fmt(r.cpuPerMsg, 2), align: 'right' as const },
      { header: 'peak MB', value: (r: Row) => fmt(r.peakMb), align: 'right' as const },
      { header: 'DB cmd/msg', value: (r: Row) => (r.dbPerMsg ? fmt(dbTotal(r.dbPerMsg), 1) : ''), align: 'right' as const },
      { header: 'failed', value: (r: Row) => fmt(r.failed), align: 'right' as const },
      {
        header: 'smtpdesk ÷ this (accepted/s)',
        value: (r: Row) => (desk && r.server !== 'smtpdesk' ? ratio(desk.rate, r.rate) : ''),
        align: 'right' as const,
      },
      {
        header: 'p50 ratio',
        value: (r: Row) => (desk && r.server !== 'smtpdesk' ? ratio(desk.p50, r.p50) : ''),
        align: 'right' as const,
      },
      {
        header: 'CPU/msg ratio',
        value: (r: Row) => (desk && r.server !== 'smtpdesk' ? ratio(desk.cpuPerMsg, r.cpuPerMsg) : ''),
        align: 'right' as const,
      },
    ];
    const title = mode === 'per-message' ? 'one connection per message (connect, EHLO, AUTH, MAIL, RCPT, DATA, QUIT)' : 'pooled (one connection per client, AUTH once)';
    text.push('', `${mode}: ${title}`, table(rows, cols));
    md.push(`**${mode}**: ${title}`, '', table(rows, cols, { markdown: true }), '');
    if (desk?.sustained !== undefined) {
      const line = `smtpdesk sustained relaying, ${mode}: delivered ${fmt(desk.deliveredRate ?? NaN)}/s ÷ accepted ${fmt(desk.rate)}/s = ${fmt(desk.sustained, 2)} (target ≥ ${SUSTAINED_TARGET}: ${desk.sustained >= SUSTAINED_TARGET ? 'met' : 'MISSED'})`;
      text.push(line);
      md.push(`${line}.`, '');
    }
    if (desk?.dbPerMsg) {
      const caption =
        `smtpdesk database commands per message, ${mode}, by process and command (driver command monitoring; in the window ` +
        `the relay accepted ${fmt(desk.dbAccepted ?? NaN)} messages and the worker delivered ${fmt(desk.dbDelivered ?? NaN)})`;
      text.push('', `${caption}:`, dbBreakdown(desk, false));
      md.push(`${caption}:`, '', dbBreakdown(desk, true), '');
    }
  }
  const trackedTable = trackedRatios(tracked);
  if (trackedTable) {
    text.push('', 'tracked ratios (smtpdesk ÷ peer):', trackedTable.text);
    md.push('Tracked ratios (smtpdesk ÷ peer):', '', trackedTable.markdown, '');
  }
  const legend = contenders.map((c) => `${c.name}: ${c.note}`);
  text.push('', ...legend);
  md.push(...legend.map((l) => `- ${l}`));
  for (const [name, why] of Object.entries(missing)) {
    text.push(`MISSING ${name}: ${why}`);
    md.push(`- **not measured: ${name}** — ${why}`);
  }
  for (const n of notes) {
    text.push(`note: ${n}`);
    md.push(`- note: ${n}`);
  }
  text.push(
    `(${fmt(elapsedMs / 1000)} s in all; CPU s = user+sys of the server's process tree during the measurement${contenders.some((c) => c.name === 'smtpdesk') ? ', smtpdesk including its database' : ''})`,
  );
  return { text: text.join('\n'), markdown: md.join('\n') };
}

/** One row per mode: smtpdesk's msg/s over each peer's, its CPU per message over Postfix's, its DB commands per message. */
function trackedRatios(tracked: { mode: LoadMode; rows: Row[] }[]): { text: string; markdown: string } | null {
  if (!tracked.some((t) => t.rows.some((r) => r.server === 'smtpdesk'))) return null;
  type T = { mode: LoadMode; rows: Row[] };
  const get = (t: T, server: string) => t.rows.find((r) => r.server === server);
  const rate = (server: string) => (t: T) => {
    const d = get(t, 'smtpdesk');
    const p = get(t, server);
    return d && p ? ratio(d.rate, p.rate) : '–';
  };
  const cols = [
    { header: 'mode', value: (t: T) => t.mode },
    {
      header: 'smtpdesk delivered ÷ accepted',
      value: (t: T) => {
        const d = get(t, 'smtpdesk');
        return d?.sustained === undefined ? '–' : fmt(d.sustained, 2);
      },
      align: 'right' as const,
    },
    { header: 'msg/s ÷ postfix', value: rate('postfix'), align: 'right' as const },
    { header: 'msg/s ÷ haraka', value: rate('haraka'), align: 'right' as const },
    { header: 'msg/s ÷ node-sink', value: rate('node-sink'), align: 'right' as const },
    {
      header: 'CPU/msg ÷ postfix',
      value: (t: T) => {
        const d = get(t, 'smtpdesk');
        const p = get(t, 'postfix');
        return d && p ? ratio(d.cpuPerMsg, p.cpuPerMsg) : '–';
      },
      align: 'right' as const,
    },
    {
      header: 'DB cmd/msg',
      value: (t: T) => {
        const per = get(t, 'smtpdesk')?.dbPerMsg;
        return per ? dbLine(per, get(t, 'smtpdesk')?.dbWorkerPerDelivered) : '–';
      },
      align: 'right' as const,
    },
  ];
  return { text: table(tracked, cols), markdown: table(tracked, cols, { markdown: true }) };
}

function machineLine(): string {
  let cpu = '';
  try {
    cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    // not Linux
  }
  return `${availableParallelism()} cores${cpu ? ` (${cpu})` : ''}, Node ${process.version}`;
}

const BEGIN = '<!-- bench:compare:begin -->';
const END = '<!-- bench:compare:end -->';

function updateDocs(markdown: string): void {
  const path = join(ROOT, 'docs', 'performance.md');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  const block = `${BEGIN}\n${markdown}\n${END}`;
  if (!existsSync(path)) {
    writeFileSync(path, `# Performance\n\n${block}\n`);
    return;
  }
  const doc = readFileSync(path, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  writeFileSync(path, a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + END.length) : `${doc.trimEnd()}\n\n${block}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:compare failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
