// smtpdesk as the harnesses run it: a database (MONGODB_URI, else a dedicated FerretDB that can be
// stopped and restarted on the same port), workspace and accounts made with the CLI, and each role as
// its own child process (`node --import tsx src/main.ts --role relay`), its logs kept in a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, readlinkSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { startDedicatedFerretDb, type DedicatedFerretDb } from '../../src/store/embedded/index.ts';
import { ROOT, killOnExit, sleep, waitForPort } from './peers.ts';
import { requestStats, type StatsSnapshot } from './db-stats.ts';

export interface Database {
  uri: string;
  /** The dedicated FerretDB, when MONGODB_URI was not given (null otherwise: no restart fault). */
  ferret: DedicatedFerretDb | null;
  /** FerretDB's pid (its process tree holds the database's CPU and memory). */
  pids(): number[];
  dispose(): Promise<void>;
}

/** MONGODB_URI (a database named per run, so runs do not see each other) or a dedicated FerretDB. */
export async function openDatabase(runId: string, dataDir?: string): Promise<Database> {
  const given = process.env.MONGODB_URI;
  if (given) {
    const u = new URL(given);
    u.pathname = `/smtpdesk_${runId.replace(/[^a-z0-9]/gi, '_')}`;
    return { uri: u.toString(), ferret: null, pids: () => [], dispose: async () => {} };
  }
  const ferret = await startDedicatedFerretDb(dataDir ? { dataDir } : {});
  return {
    uri: ferret.uri,
    ferret,
    pids: () => ferretPids(ferret.port),
    dispose: () => ferret.dispose(),
  };
}

/** The FerretDB processes listening on `port` (found through /proc/net/tcp inodes). */
function ferretPids(port: number): number[] {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
    const out: number[] = [];
    for (const pid of readdirNumeric('/proc')) {
      try {
        for (const fd of readdirNumeric(`/proc/${pid}/fd`)) {
          const link = readlinkSafe(`/proc/${pid}/fd/${fd}`);
          if (link && inodes.has(link.replace(/^socket:\[(\d+)\]$/, '$1'))) {
            out.push(pid);
            break;
          }
        }
      } catch {
        // process gone or not ours to read
      }
    }
    return out;
  } catch {
    return [];
  }
}

function readdirNumeric(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}
function readlinkSafe(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the smtpdesk CLI (bin/smtpdesk.js) against `uri`. */
export function runCli(uri: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'smtpdesk.js'), ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), MONGODB_URI: uri, LOG_LEVEL: 'warn', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface Credentials {
  name: string;
  username: string;
  password: string;
}

/** A workspace on the largest plan with `accounts` accounts; returns their credentials. */
export async function bootstrap(uri: string, workspace: string, accounts: string[], plan = '100k'): Promise<Credentials[]> {
  const ws = await runCli(uri, ['workspace', 'create', workspace, '--plan', plan, '--json']);
  if (ws.code !== 0) throw new Error(`smtpdesk workspace create failed (${ws.code}): ${ws.stderr || ws.stdout}`);
  const out: Credentials[] = [];
  for (const name of accounts) {
    const r = await runCli(uri, ['accounts', 'create', name, '--workspace', workspace, '--json']);
    if (r.code !== 0) throw new Error(`smtpdesk accounts create ${name} failed (${r.code}): ${r.stderr || r.stdout}`);
    const v = JSON.parse(r.stdout) as { username: string; password: string };
    out.push({ name, username: v.username, password: v.password });
  }
  return out;
}

/** The environment every smtpdesk child gets: ours, minus anything that would change which database or roles. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['MONGODB_URI', 'SMTPDESK_ROLES', 'SMTPDESK_STATS_FILE', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'RELAY_PORT', 'HTTP_PORT']) delete env[k];
  env.NODE_ENV = 'development';
  env.LOG_FORMAT = 'json';
  return env;
}

export interface RoleProcess {
  role: string;
  /** The role, or RoleOptions.name when several processes run it. */
  name: string;
  pid(): number | undefined;
  /** Starts (or starts again after a kill); resolves when the role serves. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown hooks, a crash. */
  kill(): Promise<void>;
  /** SIGTERM, graceful. */
  stop(): Promise<void>;
  running(): boolean;
  /** Number of times the process exited without being asked to. */
  crashes: number;
  /** Its counters now (SIGUSR2, then its SMTPDESK_STATS_FILE); only with the statsFile option. */
  stats(): Promise<StatsSnapshot>;
}

export interface RoleOptions {
  role: 'relay' | 'worker' | 'http' | 'jobs' | 'slack' | (string & {});
  /** Names the process's log file and messages when several run the same role (default: the role). */
  name?: string;
  env: Record<string, string>;
  logDir: string;
  /** Port to wait for (relay, http); else wait for the ROLE_STARTED log line. */
  port?: number;
  readyTimeoutMs?: number;
  /** Runs the process with SMTPDESK_STATS_FILE=statsFile, for stats(). */
  statsFile?: string;
}

/** BENCH_TRACE_GC=1: the roles run with --trace-gc, their GC lines in their logs (live heap against RSS). */
export function roleProcess(o: RoleOptions): RoleProcess {
  mkdirSync(o.logDir, { recursive: true });
  const name = o.name ?? o.role;
  const log: WriteStream = createWriteStream(join(o.logDir, `${name}.log`), { flags: 'a' });
  let child: ChildProcess | null = null;
  let expectedExit = false;
  const self: RoleProcess = {
    role: o.role,
    name,
    crashes: 0,
    pid: () => child?.pid,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async start() {
      if (self.running()) return;
      expectedExit = false;
      const c = spawn(process.execPath, [...(process.env.BENCH_TRACE_GC ? ['--trace-gc'] : []), '--import', 'tsx', join(ROOT, 'src', 'main.ts'), '--role', o.role], {
        cwd: ROOT,
        env: { ...baseEnv(), ...o.env, ...(o.statsFile ? { SMTPDESK_STATS_FILE: o.statsFile } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      killOnExit(c);
      let started = false;
      let tail = '';
      const onData = (d: Buffer) => {
        log.write(d);
        tail = (tail + d.toString()).slice(-8000);
        if (/"code":"ROLE_STARTED"/.test(tail) || /ROLE_STARTED/.test(tail)) started = true;
      };
      c.stdout.on('data', onData);
      c.stderr.on('data', onData);
      c.on('exit', (code, signal) => {
        log.write(`\n[harness] ${name} exited (${signal ?? code})\n`);
        if (!expectedExit) self.crashes++;
      });
      const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${name} exited during start (${c.signalCode ?? c.exitCode}):\n${tail.slice(-3000)}`);
        if (o.port !== undefined) {
          if (started) {
            try {
              await waitForPort(o.port, 500);
              return;
            } catch {
              // not yet
            }
          }
        } else if (started) return;
        if (Date.now() > deadline) throw new Error(`${name} did not start within ${(o.readyTimeoutMs ?? 60_000) / 1000} s:\n${tail.slice(-3000)}`);
        await sleep(100);
      }
    },
    async stats() {
      const pid = child?.pid;
      if (!o.statsFile) throw new Error(`${o.role}: started without statsFile`);
      if (pid === undefined || !self.running()) throw new Error(`${o.role}: not running`);
      return requestStats(pid, o.statsFile);
    },
    async kill() {
      const c = child;
      if (!c || !self.running()) return;
      expectedExit = true;
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await done;
    },
    async stop() {
      const c = child;
      if (!c || !self.running()) return;
      expectedExit = true;
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 40_000);
      await done;
      clearTimeout(t);
    },
  };
  return self;
}
