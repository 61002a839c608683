// npm run bench:profile — where the relay's and the worker's CPU goes under the bench:compare load: both roles
// run as their own processes with `node --cpu-prof`, 50 clients send for a while (loopback only, bounded), the
// processes stop gracefully, and the profiles' top functions by self time are printed per process.
//
// Flags: --clients N (50) --seconds S (15) --mode pooled|per-message (pooled) --top N (25) --keep (keep the
// .cpuprofile files, to open in Chrome DevTools)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad, type LoadMode } from './lib/load.ts';
import { freePort, ROOT, sleep, startNodeSink, waitForPort } from './lib/peers.ts';
import { bootstrap, openDatabase } from './lib/smtpdesk.ts';
import { fmt, table } from './lib/report.ts';

const { values: flags } = parseArgs({
  options: { clients: { type: 'string' }, seconds: { type: 'string' }, mode: { type: 'string' }, top: { type: 'string' }, keep: { type: 'boolean' } },
  strict: true,
});
const CLIENTS = Number(flags.clients ?? 50);
const SECONDS = Number(flags.seconds ?? 15);
const MODE = (flags.mode ?? 'pooled') as LoadMode;
const TOP = Number(flags.top ?? 25);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time per function (ms), from a V8 .cpuprofile, leaving out the first `skipMs` (start-up). */
function selfTimes(file: string, skipMs: number): { total: number; rows: { fn: string; where: string; ms: number }[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  let at = 0;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, { fn: string; where: string; ms: number }>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    at += dt;
    if (at < skipMs) return;
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)') return;
    total += dt;
    const url = n.callFrame.url.replace(`file://${ROOT}/`, '').replace(/^.*node_modules\//, '');
    const where = url ? `${url}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${fn} ${where}`;
    const row = ms.get(key) ?? { fn, where, ms: 0 };
    row.ms += dt;
    ms.set(key, row);
  });
  return { total, rows: [...ms.values()].sort((a, b) => b.ms - a.ms) };
}

function startRole(role: string, env: NodeJS.ProcessEnv, profDir: string): ChildProcess {
  return spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(profDir, role)}`, '--import', 'tsx', join(ROOT, 'src', 'main.ts'), '--role', role], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-profile-'));
  const db = await openDatabase(`profile${Date.now()}`, join(work, 'ferretdb'));
  const sinkPort = await freePort();
  const sink = await startNodeSink(sinkPort);
  try {
    const [cred] = await bootstrap(db.uri, `profile-${Date.now().toString(36)}`, ['profile-load']);
    const port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      MONGODB_URI: db.uri,
      SMTPDESK_DATA_DIR: join(work, 'data'),
      RELAY_HOST: '127.0.0.1',
      RELAY_PORT: String(port),
      RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
      RELAY_UPSTREAM_URL: `smtp://127.0.0.1:${sinkPort}`,
    };
    const spawnedAt = Date.now();
    const relay = startRole('relay', env, work);
    const worker = startRole('worker', env, work);
    await waitForPort(port, 60_000);
    await sleep(1000);
    // Module loading and start-up are not the hot path: samples before the load are left out.
    const skipMs = Date.now() - spawnedAt;
    process.stderr.write(`profiling: ${CLIENTS} clients, ${MODE}, ${SECONDS} s…\n`);
    const load = await runLoad({
      host: '127.0.0.1',
      port,
      accounts: [{ user: cred!.username, pass: cred!.password }],
      clients: CLIENTS,
      mode: MODE,
      durationMs: SECONDS * 1000,
      runId: `prof${Date.now()}`,
    });
    await sleep(2000);
    for (const c of [relay, worker]) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
    process.stdout.write(
      `\n${fmt(load.accepted)} messages accepted in ${fmt(load.elapsedMs / 1000, 1)} s (${fmt(load.accepted / (load.elapsedMs / 1000))} msg/s), ${MODE}, ${CLIENTS} clients\n`,
    );
    for (const role of ['relay', 'worker']) {
      const dir = join(work, role);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) {
        process.stdout.write(`\n${role}: no profile written\n`);
        continue;
      }
      const { total, rows } = selfTimes(join(dir, file), skipMs);
      process.stdout.write(
        `\n${role}: ${fmt(total / 1000, 2)} s of CPU on the main thread during the load and shutdown, ${fmt(total / Math.max(1, load.accepted), 2)} ms per accepted message; top ${TOP} by self time\n`,
      );
      process.stdout.write(
        table(rows.slice(0, TOP), [
          { header: 'self ms', value: (r) => fmt(r.ms), align: 'right' },
          { header: 'share', value: (r) => `${fmt((100 * r.ms) / total, 1)} %`, align: 'right' },
          { header: 'function', value: (r) => r.fn },
          { header: 'where', value: (r) => r.where },
        ]) + '\n',
      );
    }
    if (flags.keep) process.stdout.write(`\nprofiles kept in ${work}/{relay,worker}\n`);
  } finally {
    await sink.stop();
    await db.dispose();
    if (!flags.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
