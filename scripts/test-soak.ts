// npm run test:soak — a bounded load through smtpdesk while the harness breaks it: SIGKILL the relay and
// the worker (and restart them as child processes), stop and restart the database, SIGKILL the database,
// disable an account mid-stream with the CLI. Then reconcile against a sink that records Message-IDs:
//   - every message that got 250 reached the sink (duplicates counted and reported separately);
//   - no message that got a 4xx/5xx reached it;
//   - nothing was accepted for the disabled account after the disable command returned;
//   - each account's counters (sent, delivered) and the workspace's quota usage equal exactly what the queue
//     holds, after every kill (the counter batches a killed process left open are finished by the others);
//   - a responder's disable under full load is quick: the CLI's under 3 s, the admin webhook's under 1 s.
// Exits non-zero on any loss or mismatch. Loopback only; bounded in time and count.
//
// Flags (or env): --clients N (SOAK_CLIENTS, 50)  --seconds S (SOAK_SECONDS, 120)  --drain S (SOAK_DRAIN_SECONDS, 180)
//   --no-db-kill (skip the database SIGKILL)  --keep (keep logs)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/store/connection.ts';
import { signatureHeader } from '../src/shared/signing.ts';
import { runLoad, type MessageResult } from './lib/load.ts';
import { freePort, sleep } from './lib/peers.ts';
import { startRecordingSink } from './lib/sink.ts';
import { bootstrap, openDatabase, roleProcess, runCli } from './lib/smtpdesk.ts';
import { fmt, table } from './lib/report.ts';

const { values: flags } = parseArgs({
  options: { clients: { type: 'string' }, seconds: { type: 'string' }, drain: { type: 'string' }, 'no-db-kill': { type: 'boolean' }, keep: { type: 'boolean' } },
  strict: true,
});
const CLIENTS = Number(flags.clients ?? process.env.SOAK_CLIENTS ?? 50);
const SECONDS = Number(flags.seconds ?? process.env.SOAK_SECONDS ?? 120);
const DRAIN_S = Number(flags.drain ?? process.env.SOAK_DRAIN_SECONDS ?? 180);
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

async function main(): Promise<void> {
  if (!(CLIENTS > 0 && SECONDS >= 10)) throw new Error('--clients must be > 0 and --seconds at least 10');
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-soak-'));
  const logDir = join(work, 'logs');
  say(`${CLIENTS} clients for ${SECONDS} s, faults on a schedule; logs in ${logDir}`);

  const db = await openDatabase(`soak${Date.now()}`, join(work, 'ferretdb'));
  const sink = await startRecordingSink({ record: true });
  const creds = await bootstrap(db.uri, WORKSPACE, [...ACCOUNTS, WEBHOOK_DISABLED]);
  const loadCreds = creds.filter((c) => c.name !== WEBHOOK_DISABLED);
  const byUser = new Map(creds.map((c) => [c.username, c.name]));
  const relayPort = await freePort();
  const httpPort = await freePort();
  const env = {
    MONGODB_URI: db.uri,
    SMTPDESK_DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'info',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(relayPort),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
    RELAY_STORE_TIMEOUT_MS: '5000',
    RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sink.port}`,
    // Short enough that a soak drains: a dead worker's leases expire in 15 s, deferrals retry within seconds.
    DELIVERY_LEASE_SECONDS: '15',
    DELIVERY_RETRY_SCHEDULE: '2s, 5s*3, 10s*60',
    DELIVERY_SEND_BOUNCES: 'false',
    // Batches a killed process left open are finished by the others after 5 s (not the default 2 minutes).
    COUNTER_BATCH_STALE_SECONDS: '5',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    ADMIN_WEBHOOK_SECRETS: `soak:${WEBHOOK_SECRET}`,
  };
  const relay = roleProcess({ role: 'relay', env, logDir, port: relayPort });
  const worker = roleProcess({ role: 'worker', env, logDir });
  const http = roleProcess({ role: 'http', env, logDir, port: httpPort });
  await relay.start();
  await worker.start();
  await http.start();
  say(`relay on 127.0.0.1:${relayPort}, worker running, sink on 127.0.0.1:${sink.port}, database ${db.ferret ? `FerretDB ${db.uri}` : 'MONGODB_URI'}`);

  const results: MessageResult[] = [];
  const t0 = Date.now();
  const faults: FaultRecord[] = [];
  let disabledAt = Number.POSITIVE_INFINITY;
  const responderMs: { cli?: number; webhook?: number } = {};

  const fault = async (what: string, run: () => Promise<string | void>) => {
    const at = Date.now() - t0;
    const s = Date.now();
    say(`fault: ${what}`);
    try {
      const note = await run();
      faults.push({ at, what, tookMs: Date.now() - s, ...(note ? { note } : {}) });
    } catch (err) {
      faults.push({ at, what, tookMs: Date.now() - s, note: `FAILED: ${(err as Error).message.split('\n')[0]}` });
      say(`fault ${what} failed: ${(err as Error).message}`);
    }
  };
  const restart = async (p: typeof relay) => {
    await sleep(1500);
    await p.start();
  };

  const schedule: [number, string, () => Promise<string | void>][] = [
    [0.12, 'SIGKILL relay, restart', async () => (await relay.kill(), await restart(relay))],
    [0.24, 'SIGKILL worker, restart', async () => (await worker.kill(), await restart(worker))],
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
      'SIGKILL relay + worker together, restart',
      async () => {
        await Promise.all([relay.kill(), worker.kill()]);
        await Promise.all([restart(relay), restart(worker)]);
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

  const faultsDone = (async () => {
    for (const [frac, what, run] of schedule) {
      const due = t0 + frac * SECONDS * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await fault(what, run);
    }
  })();

  // Half the clients open a connection per message, half keep one open (nodemailer pool).
  const perMessage = Math.ceil(CLIENTS / 2);
  const accounts = loadCreds.map((c) => ({ user: c.username, pass: c.password }));
  const common = {
    host: '127.0.0.1',
    port: relayPort,
    accounts,
    durationMs: SECONDS * 1000,
    timeoutMs: 20_000,
    pauseMs: 20,
    errorPauseMs: 250,
    onResult: (r: MessageResult) => results.push(r),
  };
  const [a, b] = await Promise.all([
    runLoad({ ...common, clients: perMessage, mode: 'per-message', runId: `soak-p${t0}` }),
    runLoad({ ...common, clients: CLIENTS - perMessage, mode: 'pooled', runId: `soak-q${t0}` }),
  ]);
  await faultsDone;
  const loadMs = Date.now() - t0;
  say(`load done: ${a.sent + b.sent} messages sent in ${fmt(loadMs / 1000)} s; draining the queue (up to ${DRAIN_S} s)…`);

  // Drain: wait until nothing is left queued and the sink has stopped moving.
  const store = await connectDatabase(db.uri, { ensureIndexes: false, serverSelectionTimeoutMS: 5000 });
  const drainStart = Date.now();
  let queued = -1;
  let lastTotal = -1;
  let stableSince = Date.now();
  while (Date.now() - drainStart < DRAIN_S * 1000) {
    queued = await store.models.queuedMessages.countDocuments({ state: 'queued' }).catch(() => -1);
    if (sink.total() !== lastTotal) {
      lastTotal = sink.total();
      stableSince = Date.now();
    }
    if (queued === 0 && Date.now() - stableSince > 3000) break;
    await sleep(1000);
  }
  const drainMs = Date.now() - drainStart;
  // Counter batches the kills left open are finished by the relay and the worker still running (after
  // COUNTER_BATCH_STALE_SECONDS); wait for that, bounded, then stop them gracefully.
  const openBatches = () => store.models.counterBatches.countDocuments({ state: { $ne: 'stored' } }).catch(() => -1);
  const recoverStart = Date.now();
  while ((await openBatches()) !== 0 && Date.now() - recoverStart < 60_000) await sleep(1000);
  const leftOpen = await openBatches();
  await worker.stop();
  await relay.stop();
  await http.stop();
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
  const duplicates = [...received.entries()].filter(([, n]) => n > 1);
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

  const checks: { check: string; value: string; ok: boolean }[] = [
    { check: 'accepted (250) that never reached the sink', value: fmt(lost.length), ok: lost.length === 0 },
    { check: 'refused (4xx/5xx) that reached the sink', value: fmt(refusedDelivered.length), ok: refusedDelivered.length === 0 },
    { check: `accepted for ${DISABLED} after its disable returned`, value: fmt(afterDisable.length), ok: afterDisable.length === 0 },
    { check: 'messages at the sink the load never sent', value: fmt(strangers.length), ok: strangers.length === 0 },
    { check: 'queue drained (messages still queued)', value: queued < 0 ? 'unknown' : fmt(queued), ok: queued === 0 },
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
    { check: 'unplanned crashes (relay, worker)', value: `${relay.crashes}, ${worker.crashes}`, ok: relay.crashes === 0 && worker.crashes === 0 },
  ];

  const out: string[] = [];
  out.push(`soak: ${CLIENTS} clients (${perMessage} per-message, ${CLIENTS - perMessage} pooled), ${fmt(loadMs / 1000)} s of load, drained in ${fmt(drainMs / 1000)} s`);
  out.push('');
  out.push(
    table(faults, [
      { header: 'at s', value: (f) => fmt(f.at / 1000, 1), align: 'right' },
      { header: 'fault', value: (f) => f.what },
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
  out.push(
    `sink: ${fmt(sink.total())} received, ${fmt(received.size)} distinct, ${fmt(duplicates.length)} duplicated (${fmt(duplicates.reduce((n, [, c]) => n + c - 1, 0))} extra copies)`,
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
  if (lost.length)
    out.push(
      `lost (first 5): ${lost
        .slice(0, 5)
        .map((r) => r.messageId)
        .join(', ')}`,
    );
  if (refusedDelivered.length)
    out.push(
      `refused but delivered (first 5): ${refusedDelivered
        .slice(0, 5)
        .map((r) => `${r.messageId} ${r.code}`)
        .join(', ')}`,
    );
  const failed = checks.filter((c) => !c.ok).length;
  out.push('', `soak: ${checks.length - failed} passed, ${failed} failed`);
  process.stdout.write(`\n${out.join('\n')}\n`);

  await sink.close();
  await db.dispose();
  if (flags.keep || failed) process.stdout.write(`server logs: ${logDir}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`test:soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
