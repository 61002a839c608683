// One FerretDB process on a port and data dir: started under a watchdog so it never outlives us, ready once it
// answers ping, stopped gracefully or killed; and, when this process exits, what it started is stopped and removed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { canConnect, freePort } from './ports.ts';
import { errorText, settlesWithin, sleep } from './waits.ts';

const FERRETDB_READY_TIMEOUT_MS = 30_000;
const FERRETDB_STOP_GRACE_MS = 10_000;

/** A free port can be taken between probing and binding, so a lost race is retried with another port. */
export async function startFerretDbOnFreePort(binary: string, dataDir: string): Promise<{ server: FerretDbServer; port: number }> {
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

export class FerretDbServer {
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
export const removeOnExit = new Set<string>();
process.once('exit', () => {
  for (const server of live) server.terminateNow();
  for (const dir of removeOnExit) rmSync(dir, { recursive: true, force: true });
});

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

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
