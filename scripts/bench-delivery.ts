// npm run bench:delivery — how fast the queue empties, and what the queue adds between accepting a message
// and handing it to the next hop. Three scenarios, side by side in the same run, on one database:
//
//   relay only            clients send through the real relay (STARTTLS, AUTH, quota, durable queue); no worker
//                         runs: the figure the relay alone reaches (messages accepted per second)
//   queue → sink          a worker delivers a backlog already in the queue to an SMTP sink (upstream mode):
//                         messages delivered per second, the worker alone
//   relay → queue → sink  both at once, end to end: clients send as fast as they can, the worker delivers while
//                         they do; messages delivered per second, and queue latency = 250 at the client → received
//                         at the sink (this run saturates the database, so latency is mostly waiting in line)
//   … paced               the same at a steady quarter of the relay-only rate: what the queue adds when it keeps up
//   … one sender          one client, one message every 250 ms: the queue's own latency, without contention
//
// Scenarios run in order within each round, each round on a fresh database (so no round reads the previous
// rounds' finished messages); the tables show medians over rounds. Everything is in this one process
// (clients, relay, worker, sink) except the database: MONGODB_URI, else a dedicated FerretDB.
// Bounded: each scenario stops at --messages or --seconds.
//
// Flags (or env): --messages M (BENCH_MESSAGES, 300) --rounds R (BENCH_ROUNDS, 3) --clients N (BENCH_CLIENTS, 10)
//   --concurrency C (BENCH_CONCURRENCY, 10: the worker's DELIVERY_CONCURRENCY) --seconds S (BENCH_SECONDS, 60)
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config.ts';
import { createAccount, createWorkspace, type Actor } from '../src/domain/index.ts';
import { startDeliveryWorker } from '../src/delivery/worker.ts';
import { createLogger } from '../src/log.ts';
import { startRelay } from '../src/relay/relay.ts';
import type { Runtime } from '../src/runtime.ts';
import { openAppRuntime } from '../src/app-runtime.ts';
import { buildMessage, percentile } from './lib/load.ts';
import { fmt, median, ratio, table } from './lib/report.ts';
import { openDatabase } from './lib/smtpdesk.ts';
import { delta, perUnit } from './lib/db-stats.ts';
import { statsSnapshot } from '../src/metrics.ts';
import { positiveInt } from './lib/args.ts';

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string' },
    rounds: { type: 'string' },
    clients: { type: 'string' },
    concurrency: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const num = positiveInt;
const MESSAGES = num(flags.messages, process.env.BENCH_MESSAGES, 300);
const ROUNDS = num(flags.rounds, process.env.BENCH_ROUNDS, 3);
const CLIENTS = num(flags.clients, process.env.BENCH_CLIENTS, 10);
const CONCURRENCY = num(flags.concurrency, process.env.BENCH_CONCURRENCY, 10);
const SECONDS = num(flags.seconds, process.env.BENCH_SECONDS, 60);
const MESSAGE_SIZE = 4 * 1024;
const FROM = 'bench@example.com';
const TO = ['sink@example.org'];

const say = (line: string) => process.stderr.write(`[bench:delivery] ${line}\n`);
const actor: Actor = { source: 'cli', id: 'bench', name: 'bench', roles: ['admin'] };

/** A bare SMTP server that notes when each Message-ID arrived. */
async function startSink(): Promise<{ port: number; arrivals: Map<string, number>; close(): Promise<void> }> {
  const arrivals = new Map<string, number>();
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: 25 * 1024 * 1024,
    maxClients: 10_000,
    onData(stream, _session, cb) {
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 2048) head += c.toString('latin1');
      });
      stream.on('end', () => {
        const id = /^message-id:\s*<([^>]+)>/im.exec(head)?.[1];
        if (id && !arrivals.has(id)) arrivals.set(id, performance.now());
        cb(null, 'OK');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { port: (server.server.address() as { port: number }).port, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function waitFor(check: () => boolean, deadline: number, what: string): Promise<boolean> {
  while (!check()) {
    if (Date.now() > deadline) {
      say(`gave up waiting for ${what} after ${SECONDS} s`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/**
 * CLIENTS pooled nodemailer clients over STARTTLS with AUTH; returns each Message-ID's 250 time. With
 * `perSecond`, message n is not sent before n / perSecond seconds from the start.
 */
async function sendThroughRelay(
  port: number,
  auth: { user: string; pass: string },
  runId: string,
  deadline: number,
  opts: { messages?: number; perSecond?: number; clients?: number } = {},
): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  const total = opts.messages ?? MESSAGES;
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.clients ?? CLIENTS }, async () => {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth,
        pool: true,
        maxConnections: 1,
        maxMessages: Infinity,
      });
      try {
        while (Date.now() < deadline && next < total) {
          const n = next++;
          if (opts.perSecond) {
            const wait = start + (n * 1000) / opts.perSecond - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
          const id = `${runId}.${n}@bench.smtpdesk.test`;
          try {
            await transport.sendMail({ envelope: { from: FROM, to: TO }, raw: buildMessage(id, MESSAGE_SIZE, FROM, TO) });
            acked.set(id, performance.now());
          } catch (err) {
            say(`send failed: ${(err as Error).message}`);
          }
        }
      } finally {
        transport.close();
      }
    }),
  );
  return acked;
}

interface Round {
  relayOnly: number;
  workerOnly: number;
  endToEnd: number;
  latencies: number[];
  pacedRate: number;
  paced: number;
  pacedLatencies: number[];
  singleLatencies: number[];
  /** smtpdesk_db_commands_total per message: the relay's per accepted (scenario 1), the worker's per delivered (2). */
  relayCommands: Record<string, number>;
  workerCommands: Record<string, number>;
}

async function runRound(round: number, baseUri: string, tls: { key: string; cert: string }): Promise<Round> {
  const dbName = `smtpdesk_bench_delivery_${randomBytes(4).toString('hex')}`;
  const u = new URL(baseUri);
  u.pathname = `/${dbName}`;
  const uri = u.toString();
  const sink = await startSink();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    MONGODB_URI: uri,
    LOG_LEVEL: 'warn',
    BCRYPT_COST: '10',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: '0',
    RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sink.port}`,
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
    DELIVERY_HELO_NAME: 'bench.smtpdesk.test',
  });
  const rt: Runtime = await openAppRuntime(config, { log: createLogger({ level: 'warn' }) });
  const relay = await startRelay(rt, { tls });
  try {
    const ws = await createWorkspace(rt.ctx, actor, { name: `bench-${round}`, planId: '100k', defaultPlan: '10k' });
    const issued = await createAccount(rt.ctx, actor, ws.id, 'bench-delivery');
    const auth = { user: issued.username, pass: issued.password };

    // 1. relay only: accept MESSAGES, no worker.
    const runA = `a${round}-${randomBytes(3).toString('hex')}`;
    const commands = async () => (await statsSnapshot(rt.metrics, 0)).dbCommands;
    const c0 = await commands();
    let t0 = performance.now();
    const ackedA = await sendThroughRelay(relay.port, auth, runA, Date.now() + SECONDS * 1000);
    const relayOnly = ackedA.size / ((performance.now() - t0) / 1000);
    const c1 = await commands();
    const relayCommands = perUnit(delta(c0, c1), ackedA.size);

    // 2. queue → sink: the worker drains that backlog (upstream mode, to the sink).
    t0 = performance.now();
    const worker = startDeliveryWorker(rt, { queueDepthIntervalMs: 0 });
    await waitFor(() => [...ackedA.keys()].every((id) => sink.arrivals.has(id)), Date.now() + SECONDS * 1000, 'the backlog');
    const workerOnly = [...ackedA.keys()].filter((id) => sink.arrivals.has(id)).length / ((Math.max(...[...ackedA.keys()].map((id) => sink.arrivals.get(id) ?? 0)) - t0) / 1000);
    const workerCommands = perUnit(delta(c1, await commands()), [...ackedA.keys()].filter((id) => sink.arrivals.has(id)).length);

    // 3. relay → queue → sink, with the worker running.
    const runC = `c${round}-${randomBytes(3).toString('hex')}`;
    t0 = performance.now();
    const deadline = Date.now() + SECONDS * 1000;
    const ackedC = await sendThroughRelay(relay.port, auth, runC, deadline);
    await waitFor(() => [...ackedC.keys()].every((id) => sink.arrivals.has(id)), deadline + SECONDS * 1000, 'end-to-end delivery');
    const delivered = [...ackedC.keys()].filter((id) => sink.arrivals.has(id));
    const lastArrival = Math.max(...delivered.map((id) => sink.arrivals.get(id)!));
    const endToEnd = delivered.length / ((lastArrival - t0) / 1000);
    const latencies = delivered.map((id) => sink.arrivals.get(id)! - ackedC.get(id)!).sort((a, b) => a - b);

    // 4. the same, paced at a quarter of the relay-only rate (half the messages).
    const pacedRate = Math.max(1, relayOnly / 4);
    const runD = `d${round}-${randomBytes(3).toString('hex')}`;
    t0 = performance.now();
    const deadlineD = Date.now() + SECONDS * 1000;
    const ackedD = await sendThroughRelay(relay.port, auth, runD, deadlineD, { messages: Math.ceil(MESSAGES / 2), perSecond: pacedRate });
    await waitFor(() => [...ackedD.keys()].every((id) => sink.arrivals.has(id)), deadlineD + SECONDS * 1000, 'paced delivery');
    const deliveredD = [...ackedD.keys()].filter((id) => sink.arrivals.has(id));
    const paced = deliveredD.length / ((Math.max(...deliveredD.map((id) => sink.arrivals.get(id)!)) - t0) / 1000);
    const pacedLatencies = deliveredD.map((id) => sink.arrivals.get(id)! - ackedD.get(id)!).sort((a, b) => a - b);

    // 5. one sender, one message every 250 ms.
    const runE = `e${round}-${randomBytes(3).toString('hex')}`;
    const deadlineE = Date.now() + SECONDS * 1000;
    const ackedE = await sendThroughRelay(relay.port, auth, runE, deadlineE, { messages: 20, perSecond: 4, clients: 1 });
    await waitFor(() => [...ackedE.keys()].every((id) => sink.arrivals.has(id)), deadlineE + SECONDS * 1000, 'single-sender delivery');
    const singleLatencies = [...ackedE.keys()]
      .filter((id) => sink.arrivals.has(id))
      .map((id) => sink.arrivals.get(id)! - ackedE.get(id)!)
      .sort((a, b) => a - b);
    await worker.stop();
    say(
      `round ${round}: relay only ${fmt(relayOnly)}/s, queue → sink ${fmt(workerOnly)}/s, end to end ${fmt(endToEnd)}/s (latency p50 ${fmt(percentile(latencies, 50))} ms), ` +
        `paced ${fmt(paced, 1)}/s (latency p50 ${fmt(percentile(pacedLatencies, 50))} ms), one sender latency p50 ${fmt(percentile(singleLatencies, 50))} ms`,
    );
    return { relayOnly, workerOnly, endToEnd, latencies, pacedRate, paced, pacedLatencies, singleLatencies, relayCommands, workerCommands };
  } finally {
    await relay.close();
    await rt.db.connection.dropDatabase().catch(() => undefined);
    await rt.close();
    await sink.close();
  }
}

async function main(): Promise<void> {
  const db = await openDatabase(`bench-delivery-${randomBytes(3).toString('hex')}`);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
  const tls = { key: pems.private, cert: pems.cert };
  say(
    `${ROUNDS} round(s) of ${MESSAGES} messages (${MESSAGE_SIZE / 1024} KB), ${CLIENTS} pooled clients, worker concurrency ${CONCURRENCY}, database ${db.ferret ? 'dedicated FerretDB' : 'MONGODB_URI'}`,
  );
  const rounds: Round[] = [];
  try {
    for (let r = 1; r <= ROUNDS; r++) rounds.push(await runRound(r, db.uri, tls));
  } finally {
    await db.dispose();
  }
  const relayOnly = median(rounds.map((r) => r.relayOnly));
  const medianCommands = (pick: (r: Round) => Record<string, number>) => {
    const names = [...new Set(rounds.flatMap((r) => Object.keys(pick(r))))];
    return Object.fromEntries(names.map((n) => [n, median(rounds.map((r) => pick(r)[n] ?? 0))]));
  };
  const relayCommands = medianCommands((r) => r.relayCommands);
  const workerCommands = medianCommands((r) => r.workerCommands);
  const rows = [
    { name: 'relay only (accepted)', perSecond: relayOnly, p50: NaN, p95: NaN, commands: relayCommands },
    { name: 'queue → sink (worker alone)', perSecond: median(rounds.map((r) => r.workerOnly)), p50: NaN, p95: NaN, commands: workerCommands },
    {
      name: 'relay → queue → sink (end to end)',
      perSecond: median(rounds.map((r) => r.endToEnd)),
      p50: median(rounds.map((r) => percentile(r.latencies, 50))),
      p95: median(rounds.map((r) => percentile(r.latencies, 95))),
    },
    {
      name: `  … paced at ${fmt(median(rounds.map((r) => r.pacedRate)), 1)} msg/s`,
      perSecond: median(rounds.map((r) => r.paced)),
      p50: median(rounds.map((r) => percentile(r.pacedLatencies, 50))),
      p95: median(rounds.map((r) => percentile(r.pacedLatencies, 95))),
    },
    {
      name: '  … one sender, 4 msg/s',
      perSecond: NaN,
      p50: median(rounds.map((r) => percentile(r.singleLatencies, 50))),
      p95: median(rounds.map((r) => percentile(r.singleLatencies, 95))),
    },
  ];
  process.stdout.write(
    `\nDelivery, ${MESSAGES} messages × ${ROUNDS} rounds (medians over rounds; ${db.ferret ? 'FerretDB' : 'MONGODB_URI'}; worker concurrency ${CONCURRENCY}):\n\n` +
      table(rows, [
        { header: 'scenario', value: (r) => r.name },
        { header: 'msg/s', value: (r) => (Number.isFinite(r.perSecond) ? fmt(r.perSecond, 1) : ''), align: 'right' },
        { header: 'vs relay only', value: (r) => (Number.isFinite(r.perSecond) ? ratio(r.perSecond, relayOnly) : ''), align: 'right' },
        { header: 'queue latency p50', value: (r) => (Number.isFinite(r.p50) ? `${fmt(r.p50)} ms` : ''), align: 'right' },
        { header: 'p95', value: (r) => (Number.isFinite(r.p95) ? `${fmt(r.p95)} ms` : ''), align: 'right' },
        { header: 'DB cmd/msg', value: (r) => ('commands' in r && r.commands ? fmt(r.commands.all ?? NaN, 2) : ''), align: 'right' },
      ]) +
      '\n\nqueue latency: from the 250 the client got from the relay to the message arriving at the sink.\n' +
      `DB cmd/msg: smtpdesk_db_commands_total (driver command monitoring) per message accepted (relay) or delivered (worker); ` +
      `relay ${commandList(relayCommands)}; worker ${commandList(workerCommands)}.\n`,
  );
}

/** "find 4.00, update 2.00, …" (largest first, without `all`) */
function commandList(c: Record<string, number>): string {
  const parts = Object.entries(c)
    .filter(([n, v]) => n !== 'all' && v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([n, v]) => `${n} ${fmt(v, 2)}`);
  return parts.length ? parts.join(', ') : '–';
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:delivery failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
