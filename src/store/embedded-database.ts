// The database `npm start` and the tests use when MONGODB_URI is not set:
// a real mongod through mongodb-memory-server when its binary can be had, else
// FerretDB (MongoDB wire protocol on SQLite) built from source by Go.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { DryMongoBinary, MongoBinary, MongoMemoryReplSet } from 'mongodb-memory-server';
import { ensureFerretDbBinary, FERRETDB_VERSION } from './ferretdb-binary.ts';
import { StartupError } from '../shared/startup-errors.ts';

export interface EmbeddedDatabase {
  uri: string;
  kind: 'mongod' | 'ferretdb';
  /** One line for people: which engine, where its data lives. */
  description: string;
  stop(): Promise<void>;
}

export interface StartEmbeddedDatabaseOptions {
  /** Where data is kept across restarts; null = a throwaway temp dir removed by stop(). */
  dataDir: string | null;
  log?: (msg: string) => void;
  /** Try a real mongod first (default true). */
  tryMongod?: boolean;
  /** Where the FerretDB binary is cached; see ensureFerretDbBinary. */
  cacheDir?: string;
}

export interface DedicatedFerretDb {
  uri: string;
  port: number;
  dataDir: string;
  /** Graceful stop (SIGTERM, then SIGKILL after a bound); data and port are kept for restart(). */
  stop(): Promise<void>;
  /** Starts again on the same port and data dir. */
  restart(): Promise<void>;
  /** SIGKILL, to simulate a crash; restart() works afterwards. */
  kill(): Promise<void>;
  /** Stops and removes the data dir if it was a temp dir this created. */
  dispose(): Promise<void>;
}

const MONGOD_DOWNLOAD_PROBE_MS = 3_000;
const MONGOD_DOWNLOAD_MAX_MS = 5 * 60_000;
const FERRETDB_READY_TIMEOUT_MS = 30_000;
const FERRETDB_STOP_GRACE_MS = 10_000;
const REPLICA_SET_NAME = 'smtpdesk';

export async function startEmbeddedDatabase(opts: StartEmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const dataDir = opts.dataDir;

  if (opts.tryMongod !== false) {
    const mongodDataExists = dataDir !== null && hasFiles(join(dataDir, 'mongod'));
    if (dataDir !== null && hasFiles(join(dataDir, 'ferretdb'), '.sqlite') && !mongodDataExists) {
      // Switching engines would show an empty database; keep using the one that has the data.
      log(`embedded database: ${join(dataDir, 'ferretdb')} holds FerretDB data, so FerretDB is used, not mongod`);
    } else {
      const binary = await findMongodBinary(log);
      if (binary) {
        try {
          return await startMongod(binary, dataDir);
        } catch (err) {
          if (mongodDataExists) {
            throw new Error(`mongod could not start on its existing data in ${join(dataDir, 'mongod')}: ${errorText(err)}`);
          }
          log(`embedded database: mongod (${binary.source}) failed to start, using FerretDB instead: ${errorText(err)}`);
        }
      } else if (mongodDataExists) {
        log(`embedded database: ${join(dataDir, 'mongod')} holds mongod data but no mongod binary is available; FerretDB starts with separate, empty data`);
      }
    }
  }
  return startFerretDbDatabase(dataDir, log, opts.cacheDir);
}

/** A FerretDB a fault test can stop and start again on the same port and data. */
export async function startDedicatedFerretDb(opts: { dataDir?: string; cacheDir?: string } = {}): Promise<DedicatedFerretDb> {
  const binary = await ensureFerretDbBinary(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'smtpdesk-ferretdb-')));
  if (ownsDataDir) removeOnExit.add(dataDir);
  await mkdir(dataDir, { recursive: true });

  const { server, port } = await startFerretDbOnFreePort(binary, dataDir);
  let current: FerretDbServer | null = server;
  const uri = `mongodb://127.0.0.1:${port}/`;

  return {
    uri,
    port,
    dataDir,
    async stop() {
      await current?.stop();
      current = null;
    },
    async restart() {
      await current?.stop();
      current = null;
      const next = new FerretDbServer(binary, dataDir, port);
      await next.start();
      current = next;
    },
    async kill() {
      await current?.kill();
      current = null;
    },
    async dispose() {
      await current?.stop();
      current = null;
      if (ownsDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        removeOnExit.delete(dataDir);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// mongod through mongodb-memory-server

interface MongodBinary {
  /** Passed to mongodb-memory-server when the binary was found outside its own lookup. */
  systemBinary?: string;
  source: string;
}

/** Only cheap checks, plus one download attempt that gives up within seconds when the mirror is unreachable. */
async function findMongodBinary(log: (msg: string) => void): Promise<MongodBinary | null> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return { source: 'MONGOMS_SYSTEM_BINARY' };

  const version = DryMongoBinary.getEnsuredOptions().version;
  try {
    if (await DryMongoBinary.locateBinary({ version })) return { source: `mongodb-memory-server cache, ${version}` };
  } catch {
    // An unrecognised OS and the like: the PATH lookup and download below still apply.
  }

  const onPath = await findOnPath('mongod');
  if (onPath) return { systemBinary: onPath, source: onPath };

  if (!envFlag(process.env.MONGOMS_RUNTIME_DOWNLOAD, true)) {
    log('embedded database: no mongod binary found and MONGOMS_RUNTIME_DOWNLOAD is off, using FerretDB');
    return null;
  }
  const mirror = process.env.MONGOMS_DOWNLOAD_URL ?? process.env.MONGOMS_DOWNLOAD_MIRROR ?? 'https://fastdl.mongodb.org';
  try {
    await fetch(mirror, { method: 'HEAD', signal: AbortSignal.timeout(MONGOD_DOWNLOAD_PROBE_MS) });
  } catch (err) {
    log(`embedded database: no mongod binary found and ${new URL(mirror).host} is unreachable (${causeText(err)}), using FerretDB`);
    return null;
  }
  log(`embedded database: downloading mongod ${version} (first run only)…`);
  try {
    // The bound keeps startup from hanging; an unfinished download carries on and is cached for next time.
    await withTimeout(MongoBinary.getPath({ version }), MONGOD_DOWNLOAD_MAX_MS, 'mongod download');
    return { source: `downloaded, ${version}` };
  } catch (err) {
    log(`embedded database: mongod download failed, using FerretDB: ${errorText(err)}`);
    return null;
  }
}

async function startMongod(binary: MongodBinary, dataDir: string | null): Promise<EmbeddedDatabase> {
  const binaryOpts = binary.systemBinary ? { systemBinary: binary.systemBinary } : {};
  // A single-node replica set, so majority writes, transactions and change streams work as in production.
  if (dataDir === null) {
    const replSet = await MongoMemoryReplSet.create({
      binary: binaryOpts,
      replSet: { name: REPLICA_SET_NAME, count: 1 },
    });
    return {
      uri: replSet.getUri(),
      kind: 'mongod',
      description: `mongod (${binary.source}), throwaway data`,
      stop: async () => {
        await replSet.stop({ doCleanup: true, force: true });
      },
    };
  }

  const dbPath = join(dataDir, 'mongod');
  await mkdir(dbPath, { recursive: true });
  // The replica set config stored in dbPath names host:port, so the port must stay the same across restarts.
  const port = await stablePort(join(dataDir, 'mongod.port'));
  const replSet = await MongoMemoryReplSet.create({
    binary: binaryOpts,
    replSet: { name: REPLICA_SET_NAME, count: 1, storageEngine: 'wiredTiger' },
    instanceOpts: [{ dbPath, port, storageEngine: 'wiredTiger' }],
  });
  return {
    uri: replSet.getUri(),
    kind: 'mongod',
    description: `mongod (${binary.source}), data in ${dbPath}`,
    stop: async () => {
      await replSet.stop({ doCleanup: false });
    },
  };
}

async function stablePort(portFile: string): Promise<number> {
  const saved = Number((await readFile(portFile, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(saved) && saved > 0) {
    if (!(await isPortFree(saved))) {
      throw new StartupError(`port ${saved} (recorded in ${portFile}) is in use; is another smtpdesk using this data dir?`);
    }
    return saved;
  }
  const port = await freePort();
  await writeFile(portFile, `${port}\n`);
  return port;
}

// ---------------------------------------------------------------------------
// FerretDB

async function startFerretDbDatabase(dataDir: string | null, log: (msg: string) => void, cacheDir?: string): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretDbBinary({ onProgress: log, ...(cacheDir ? { cacheDir } : {}) });
  const dir = dataDir === null ? await mkdtemp(join(tmpdir(), 'smtpdesk-ferretdb-')) : join(dataDir, 'ferretdb');
  if (dataDir === null) removeOnExit.add(dir);
  await mkdir(dir, { recursive: true });
  try {
    const { server, port } = await startFerretDbOnFreePort(binary, dir);
    return {
      uri: `mongodb://127.0.0.1:${port}/`,
      kind: 'ferretdb',
      description: `FerretDB ${FERRETDB_VERSION} (SQLite), ${dataDir === null ? 'throwaway data' : `data in ${dir}`}`,
      stop: async () => {
        await server.stop();
        if (dataDir === null) {
          await rm(dir, { recursive: true, force: true });
          removeOnExit.delete(dir);
        }
      },
    };
  } catch (err) {
    if (dataDir === null) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A free port can be taken between probing and binding, so a lost race is retried with another port. */
async function startFerretDbOnFreePort(binary: string, dataDir: string): Promise<{ server: FerretDbServer; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new FerretDbServer(binary, dataDir, port);
    try {
      await server.start();
      return { server, port };
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test(errorText(err))) throw err;
    }
  }
}

/**
 * FerretDB runs under a small sh watchdog that holds a pipe from us on its
 * stdin: when this process dies, even by SIGKILL, the pipe closes and the
 * watchdog stops FerretDB, so it never outlives us. Closing the pipe is also
 * how stop() asks for a graceful shutdown.
 */
const WATCHDOG_SCRIPT = `
trap '' INT HUP
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
echo "$child"
( while read -r _; do :; done; kill -TERM "$child" 2>/dev/null ) <&3 &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit $status
`;

class FerretDbServer {
  private child: ChildProcessWithoutNullStreams | null = null;
  private ferretPid: number | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail: string[] = [];

  constructor(
    private readonly binary: string,
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('FerretDB is already running');
    this.stderrTail = [];
    const args = [
      '--handler=sqlite',
      // FerretDB wants a directory URL that ends with '/'.
      `--sqlite-url=${pathToFileURL(this.dataDir).href.replace(/\/?$/, '/')}`,
      `--listen-addr=127.0.0.1:${this.port}`,
      // SMTPDESK_FERRETDB_DEBUG_ADDR (e.g. 127.0.0.1:8088) serves FerretDB's pprof and metrics, for profiling it.
      `--debug-addr=${process.env.SMTPDESK_FERRETDB_DEBUG_ADDR ?? '-'}`,
      '--telemetry=disable',
      // At warn, FerretDB logs every failed command (a duplicate key, say) over twenty lines.
      '--log-level=error',
      `--state-dir=${this.dataDir}`,
    ];
    const child =
      process.platform === 'win32'
        ? spawn(this.binary, args, { stdio: 'pipe' })
        : spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'ferretdb-watchdog', this.binary, ...args], { stdio: 'pipe' });
    this.child = child;
    live.add(this);

    const status: { exit: string | null; spawnError: Error | null } = { exit: null, spawnError: null };
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        status.exit = signal ? `signal ${signal}` : `exit code ${code}`;
        if (this.child === child) {
          this.child = null;
          this.ferretPid = null;
          live.delete(this);
        }
        resolve();
      });
    });
    child.on('error', (err) => (status.spawnError = err));

    child.stderr.setEncoding('utf8');
    let partial = '';
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      this.stderrTail.push(...lines.filter((l) => l.trim() !== ''));
      if (this.stderrTail.length > 40) this.stderrTail.splice(0, this.stderrTail.length - 40);
    });

    const pidLine = new Promise<void>((resolve) => {
      let buffered = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        if (this.ferretPid !== null) return;
        buffered += chunk;
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const pid = Number(buffered.slice(0, newline).trim());
          if (Number.isInteger(pid) && pid > 0) this.ferretPid = pid;
          resolve();
        }
      });
      if (process.platform === 'win32') {
        this.ferretPid = child.pid ?? null;
        resolve();
      }
    });

    // Nothing here should keep the event loop alive: the app's own sockets do that.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) stream.unref?.();

    const deadline = Date.now() + FERRETDB_READY_TIMEOUT_MS;
    try {
      await settlesWithin(Promise.race([pidLine, this.exited]), 5_000);
      for (;;) {
        if (status.spawnError) throw status.spawnError;
        if (status.exit !== null) throw new Error(`FerretDB exited during startup (${status.exit})`);
        if ((await canConnect(this.port, 500)) && (await pingSucceeds(this.uri, 2_000))) return;
        if (Date.now() > deadline) throw new Error(`FerretDB did not answer ping on 127.0.0.1:${this.port} within ${FERRETDB_READY_TIMEOUT_MS / 1000} s`);
        await sleep(100);
      }
    } catch (err) {
      await this.kill();
      const stderr = this.stderrTail.slice(-15).join('\n');
      throw new Error(`${errorText(err)}${stderr ? `\nlast FerretDB output:\n${stderr}` : ''}`);
    }
  }

  async stop(graceMs = FERRETDB_STOP_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (process.platform === 'win32') child.kill('SIGTERM');
    else child.stdin.end(); // the watchdog sends FerretDB one SIGTERM
    if (!(await settlesWithin(this.exited, graceMs))) await this.kill();
    else await this.exited;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.ferretPid !== null) signalPid(this.ferretPid, 'SIGKILL');
    if (!(await settlesWithin(this.exited, 5_000))) {
      child.kill('SIGKILL');
      await settlesWithin(this.exited, 5_000);
    }
    child.stdin.destroy();
  }

  /** Synchronous, for process 'exit'. */
  terminateNow(): void {
    if (this.ferretPid !== null) signalPid(this.ferretPid, 'SIGTERM');
    this.child?.kill('SIGTERM');
  }
}

const live = new Set<FerretDbServer>();
const removeOnExit = new Set<string>();
process.once('exit', () => {
  for (const server of live) server.terminateNow();
  for (const dir of removeOnExit) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// helpers

async function pingSucceeds(uri: string, timeoutMs: number): Promise<boolean> {
  const client = new mongoose.mongo.MongoClient(uri, {
    directConnection: true,
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    const reply = await client.db('admin').command({ ping: 1 });
    return reply.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function canConnect(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function findOnPath(command: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function hasFiles(dir: string, suffix = ''): boolean {
  try {
    return existsSync(dir) && readdirSync(dir).some((name) => name.endsWith(suffix));
  } catch {
    return false;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function envFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${MONGOD_DOWNLOAD_PROBE_MS / 1000} s`;
  return cause?.message ?? errorText(err);
}
