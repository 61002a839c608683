// npm run bench:relay — what the relay costs per message, against a bare smtp-server in the same run.
//
//   relay       the real relay: STARTTLS, AUTH PLAIN (bcrypt cost 12, credential cache on), quota reservation,
//               the message stored in the real queue (majority, journaled), usage counted — then 250
//   relay, no cache   the same with RELAY_AUTH_CACHE=false: every connection pays one bcrypt check
//   sink        a bare smtp-server: STARTTLS, no AUTH, no database; reads the message and answers 250
//
// Two client shapes: a new connection per message (what many applications do) and pooled connections
// (one connection per client, reused). Every client is nodemailer over STARTTLS on 127.0.0.1. Scenarios are
// interleaved round by round so a busy moment on the machine hits all of them; the table shows medians over
// rounds. Bounded: each scenario-round stops at --messages or --seconds, whichever comes first.
//
// Flags (or env): --clients N (BENCH_CLIENTS, 20) --rounds R (BENCH_ROUNDS, 3) --messages M (BENCH_MESSAGES, 400)
//   --seconds S (BENCH_SECONDS, 20) --nocache-messages M (BENCH_NOCACHE_MESSAGES, 60)
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config.ts';
import { createAccount, createWorkspace, type Actor } from '../src/domain/index.ts';
import { createLogger } from '../src/log.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay.ts';
import { openAppRuntime } from '../src/app-runtime.ts';
import { startEmbeddedDatabase } from '../src/store/embedded/index.ts';
import { buildMessage, percentile } from './lib/load.ts';
import { fmt, median, ratio, table } from './lib/report.ts';
import { positiveInt } from './lib/args.ts';
import { delta, sum } from './lib/db-stats.ts';
import { statsSnapshot } from '../src/metrics.ts';

const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string' },
    rounds: { type: 'string' },
    messages: { type: 'string' },
    seconds: { type: 'string' },
    'nocache-messages': { type: 'string' },
  },
});
const num = positiveInt;
const CLIENTS = num(flags.clients, process.env.BENCH_CLIENTS, 20);
const ROUNDS = num(flags.rounds, process.env.BENCH_ROUNDS, 3);
const MESSAGES = num(flags.messages, process.env.BENCH_MESSAGES, 400);
const SECONDS = num(flags.seconds, process.env.BENCH_SECONDS, 20);
const NOCACHE_MESSAGES = num(flags['nocache-messages'], process.env.BENCH_NOCACHE_MESSAGES, 60);
const BCRYPT_COST = 12;
const MESSAGE_SIZE = 2 * 1024;

const say = (line: string) => process.stderr.write(`[bench:relay] ${line}\n`);
const benchActor: Actor = { source: 'cli', id: 'bench', name: 'bench', roles: ['admin'] };

type Mode = 'per-message' | 'pooled';
interface Target {
  name: string;
  port: number;
  auth?: { user: string; pass: string };
  /** Cap on messages per round (the no-cache relay is bcrypt-bound: a few per second). */
  messages: number;
}
interface RoundResult {
  perSecond: number;
  p50: number;
  p99: number;
  accepted: number;
  failed: number;
  firstError?: string;
  /** smtpdesk_db_commands_total in the round ÷ messages accepted (relay targets only). */
  dbPerMsg?: number;
}

/** CLIENTS nodemailer clients over STARTTLS; each sends until the shared count or the time runs out. */
async function runRound(target: Target, mode: Mode, runId: string): Promise<RoundResult> {
  const deadline = Date.now() + SECONDS * 1000;
  let next = 0;
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const from = 'bench@example.com';
  const to = ['sink@example.org'];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const options = {
        host: '127.0.0.1',
        port: target.port,
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        connectionTimeout: 30_000,
        greetingTimeout: 30_000,
        socketTimeout: 30_000,
        ...(target.auth ? { auth: target.auth } : {}),
      };
      const transport = mode === 'pooled' ? nodemailer.createTransport({ ...options, pool: true, maxConnections: 1, maxMessages: Infinity }) : nodemailer.createTransport(options);
      try {
        while (Date.now() < deadline && next < target.messages) {
          const n = next++;
          const raw = buildMessage(`${runId}.${n}@bench.smtpdesk.test`, MESSAGE_SIZE, from, to);
          const s = performance.now();
          try {
            await transport.sendMail({ envelope: { from, to }, raw });
            latencies.push(performance.now() - s);
          } catch (err) {
            failed++;
            firstError ??= (err as { response?: string; message?: string }).response ?? String(err);
          }
        }
      } finally {
        transport.close();
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), accepted: latencies.length, failed, firstError };
}

function startSink(tls: { key: string; cert: string }): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    disabledCommands: ['AUTH'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: 25 * 1024 * 1024,
    maxClients: 10_000,
    onData(stream, _session, cb) {
      stream.on('data', () => undefined);
      stream.on('end', () => cb(null, 'OK'));
    },
  });
  server.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.server.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

async function main(): Promise<void> {
  say(`${CLIENTS} clients, ${ROUNDS} rounds, at most ${MESSAGES} messages (${NOCACHE_MESSAGES} without the cache) or ${SECONDS} s per scenario and round`);
  const external = process.env.MONGODB_URI;
  const embedded = external ? null : await startEmbeddedDatabase({ dataDir: null, log: (m) => say(m) });
  const base = external ?? embedded!.uri;
  const dbName = `smtpdesk_bench_${randomBytes(4).toString('hex')}`;
  const uri = base.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${dbName}`);
  say(`database: ${embedded ? embedded.description : 'MONGODB_URI'}, database ${dbName}`);

  const config = loadConfig({ ...process.env, NODE_ENV: 'test', MONGODB_URI: uri, BCRYPT_COST: String(BCRYPT_COST), LOG_LEVEL: 'warn' });
  const rt = await openAppRuntime(config, { log: createLogger({ level: 'warn' }) });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
  const tls = { key: pems.private, cert: pems.cert };
  const relays: RunningRelay[] = [];
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  try {
    const ws = await createWorkspace(rt.ctx, benchActor, { name: `bench-${dbName}`, planId: '100k', defaultPlan: '100k' });
    const acct = await createAccount(rt.ctx, benchActor, ws.id, 'bench-app');
    const auth = { user: acct.username, pass: acct.password };
    const common = { host: '127.0.0.1', port: 0, implicitTlsPort: undefined, tls, maxClients: 10_000 };
    const cached = await startRelay(rt, { ...common, authCache: true });
    const uncached = await startRelay(rt, { ...common, authCache: false });
    relays.push(cached, uncached);
    sink = await startSink(tls);

    const scenarios: { mode: Mode; target: Target; baseline?: string }[] = [
      { mode: 'per-message', target: { name: 'sink', port: sink.port, messages: MESSAGES } },
      { mode: 'per-message', target: { name: 'relay', port: cached.port, auth, messages: MESSAGES }, baseline: 'sink' },
      { mode: 'per-message', target: { name: 'relay, no cache', port: uncached.port, auth, messages: NOCACHE_MESSAGES }, baseline: 'sink' },
      { mode: 'pooled', target: { name: 'sink', port: sink.port, messages: MESSAGES } },
      { mode: 'pooled', target: { name: 'relay', port: cached.port, auth, messages: MESSAGES }, baseline: 'sink' },
    ];
    const results = new Map<string, RoundResult[]>();
    const key = (mode: Mode, name: string) => `${mode}|${name}`;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of scenarios) {
        const commands = async () => (await statsSnapshot(rt.metrics, 0)).dbCommands;
        const c0 = await commands();
        const r = await runRound(s.target, s.mode, `r${round}-${s.mode}-${s.target.name.replace(/\W+/g, '')}-${dbName}`);
        if (s.baseline && r.accepted) r.dbPerMsg = sum(delta(c0, await commands())) / r.accepted;
        say(
          `round ${round}  ${s.mode.padEnd(11)} ${s.target.name.padEnd(15)} ${fmt(r.perSecond, 1).padStart(7)} msg/s  p50 ${fmt(r.p50).padStart(5)} ms  p99 ${fmt(r.p99).padStart(5)} ms${r.failed ? `  ${r.failed} failed: ${r.firstError}` : ''}`,
        );
        results.set(key(s.mode, s.target.name), [...(results.get(key(s.mode, s.target.name)) ?? []), r]);
      }
    }

    const med = (mode: Mode, name: string, f: (r: RoundResult) => number) => median((results.get(key(mode, name)) ?? []).map(f));
    const rows = scenarios.map((s) => {
      const m = (f: (r: RoundResult) => number) => med(s.mode, s.target.name, f);
      const b = (f: (r: RoundResult) => number) => (s.baseline ? med(s.mode, s.baseline, f) : NaN);
      return {
        connections: s.mode === 'per-message' ? 'one per message' : 'pooled',
        server: s.target.name,
        rate: m((r) => r.perSecond),
        p50: m((r) => r.p50),
        p99: m((r) => r.p99),
        rateRatio: s.baseline
          ? ratio(
              m((r) => r.perSecond),
              b((r) => r.perSecond),
            )
          : '1.00× (baseline)',
        p50Ratio: s.baseline
          ? ratio(
              m((r) => r.p50),
              b((r) => r.p50),
            )
          : '1.00× (baseline)',
        failed: (results.get(key(s.mode, s.target.name)) ?? []).reduce((n, r) => n + r.failed, 0),
        dbPerMsg: m((r) => r.dbPerMsg ?? NaN),
      };
    });
    type Row = (typeof rows)[number];
    process.stdout.write(
      `\nSMTP relay vs a bare smtp-server sink: ${CLIENTS} parallel nodemailer clients over STARTTLS, ${MESSAGE_SIZE / 1024} KB messages, bcrypt cost ${BCRYPT_COST},\n` +
        `${embedded ? embedded.description : 'MONGODB_URI'}; medians of ${ROUNDS} rounds (each round: up to ${MESSAGES} messages or ${SECONDS} s; no cache: up to ${NOCACHE_MESSAGES}).\n\n`,
    );
    process.stdout.write(
      `${table<Row>(rows, [
        { header: 'connections', value: (r) => r.connections },
        { header: 'server', value: (r) => r.server },
        { header: 'msg/s', value: (r) => fmt(r.rate, 1), align: 'right' },
        { header: 'p50 ms', value: (r) => fmt(r.p50), align: 'right' },
        { header: 'p99 ms', value: (r) => fmt(r.p99), align: 'right' },
        { header: 'msg/s vs sink', value: (r) => r.rateRatio, align: 'right' },
        { header: 'p50 vs sink', value: (r) => r.p50Ratio, align: 'right' },
        { header: 'DB cmd/msg', value: (r) => (Number.isFinite(r.dbPerMsg) ? fmt(r.dbPerMsg, 2) : ''), align: 'right' },
        { header: 'failed', value: (r) => String(r.failed), align: 'right' },
      ])}\n` + `DB cmd/msg: smtpdesk_db_commands_total (driver command monitoring) in the round ÷ messages accepted.\n`,
    );
    const withCache = rows.find((r) => r.connections === 'one per message' && r.server === 'relay')!;
    const without = rows.find((r) => r.server === 'relay, no cache')!;
    process.stdout.write(
      `\nCredential cache, one connection per message: ${fmt(withCache.rate, 1)} msg/s with it, ${fmt(without.rate, 1)} msg/s without (${ratio(withCache.rate, without.rate)}); p50 ${fmt(withCache.p50)} ms vs ${fmt(without.p50)} ms.\n`,
    );
  } finally {
    for (const r of relays) await r.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
    await rt.db.connection.dropDatabase().catch(() => undefined);
    await rt.close();
    await embedded?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:relay failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
