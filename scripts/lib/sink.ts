// A bare smtp-server that accepts everything and records each message's Message-ID: the soak's and
// bench:drain's reconciliation point, and Node's ceiling in bench:compare. Run in-process
// (startRecordingSink) or as a child process (startSinkProcess, or by hand:
// `node --import tsx scripts/lib/sink.ts PORT [USER:PASS] [--record] [--delay-ms MS]`, which prints
// "listening PORT", then, with --record, one line per message it answered 250: "+ <epoch ms> <Message-ID>").
//
// A message counts as received when the sink answers 250 to it, not when its data ends: with --delay-ms (a
// slow next hop) a sender that hangs up (or is killed) before the answer never got its 250, so, as RFC 5321
// wants of a real server, the message is not delivered and not counted; the sender will send it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { killOnExit, ROOT } from './peers.ts';

export interface RecordingSink {
  port: number;
  /** Message-ID -> times received. */
  received: Map<string, number>;
  /** Message-ID -> when its first copy was answered 250 (epoch ms). */
  firstAt: Map<string, number>;
  /** Message-ID -> when its latest copy was answered 250 (epoch ms). */
  lastAt: Map<string, number>;
  /** Messages received in total (duplicates included). */
  total(): number;
  close(): Promise<void>;
}

export interface SinkOptions {
  port?: number;
  /** When set, AUTH is required and must match (a cheap string compare). */
  auth?: { user: string; pass: string };
  /** Whether to keep Message-IDs (the benchmark does not need them). */
  record?: boolean;
  /** Waits this long after the message's data before answering: a slow next hop (default 0). */
  dataDelayMs?: number;
  /** Called for each message answered 250 (the child-process mode prints it). */
  onReceived?: (messageId: string, at: number) => void;
}

const headerMessageId = (head: string) => /^message-id:\s*<([^>\r\n]+)>/im.exec(head)?.[1] ?? '(none)';

export async function startRecordingSink(opts: SinkOptions = {}): Promise<RecordingSink> {
  const received = new Map<string, number>();
  const firstAt = new Map<string, number>();
  const lastAt = new Map<string, number>();
  const closedSessions = new Set<string>();
  let total = 0;
  const delay = opts.dataDelayMs ?? 0;
  const count = (head: string) => {
    total++;
    const at = Date.now();
    if (opts.record === false) return opts.onReceived?.('-', at);
    const id = headerMessageId(head);
    received.set(id, (received.get(id) ?? 0) + 1);
    if (!firstAt.has(id)) firstAt.set(id, at);
    lastAt.set(id, at);
    opts.onReceived?.(id, at);
  };
  const options: SMTPServerOptions = {
    secure: false,
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !opts.auth,
    disableReverseLookup: true,
    logger: false,
    size: 64 * 1024 * 1024,
    maxClients: 10_000,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      const err = new Error('Authentication failed') as Error & { responseCode: number };
      err.responseCode = 535;
      cb(err);
    },
    onClose(session) {
      if (delay > 0) closedSessions.add(session.id);
    },
    onData(stream, session, cb) {
      let head = '';
      let headDone = false;
      stream.on('data', (chunk: Buffer) => {
        if (!headDone && opts.record !== false) {
          head += chunk.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end >= 0 || head.length > 64 * 1024) {
            head = end >= 0 ? head.slice(0, end) : head;
            headDone = true;
          }
        }
      });
      stream.on('end', () => {
        if (delay <= 0) {
          count(head);
          return cb(null, 'Ok: queued');
        }
        setTimeout(() => {
          // The sender hung up while we made it wait: it never sees a 250, so the message is not taken.
          if (closedSessions.delete(session.id)) return cb(new Error('sender went away'));
          count(head);
          cb(null, 'Ok: queued');
        }, delay);
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const addr = server.server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  // A closed session's id is only needed while one of its messages waits; forget the rest now and then.
  const prune = delay > 0 ? setInterval(() => closedSessions.clear(), Math.max(60_000, delay * 10)) : undefined;
  prune?.unref();
  return {
    port,
    received,
    firstAt,
    lastAt,
    total: () => total,
    close: () => {
      if (prune) clearInterval(prune);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface SinkProcess extends RecordingSink {
  pid(): number | undefined;
  /** Stops the process at once: the port refuses connections from now on (a next hop that went down). */
  stop(): Promise<void>;
  /** Starts it again on the same port; the counts go on from where they were. */
  start(): Promise<void>;
}

/**
 * The recording sink as its own process: its answers do not wait for the harness's event loop (which also runs
 * the load's clients), and the OS schedules it like any next hop. Resolves once it listens on `port`.
 */
export async function startSinkProcess(opts: { port: number; dataDelayMs?: number }): Promise<SinkProcess> {
  const args = ['--import', 'tsx', join(ROOT, 'scripts', 'lib', 'sink.ts'), String(opts.port), '--record'];
  if (opts.dataDelayMs) args.push('--delay-ms', String(opts.dataDelayMs));
  const received = new Map<string, number>();
  const firstAt = new Map<string, number>();
  const lastAt = new Map<string, number>();
  let total = 0;
  let child: ChildProcess | null = null;
  const running = (c: ChildProcess | null): c is ChildProcess => c !== null && c.exitCode === null && c.signalCode === null;
  const start = async () => {
    if (running(child)) return;
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
    child = c;
    killOnExit(c);
    const lines = createInterface({ input: c.stdout });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('sink process did not start in 20 s')), 20_000);
      c.once('exit', (code) => reject(new Error(`sink process exited (${code})`)));
      lines.on('line', (line) => {
        if (line.startsWith('listening')) {
          clearTimeout(t);
          return resolve();
        }
        const m = /^\+ (\d+) (.+)$/.exec(line);
        if (!m) return;
        total++;
        const id = m[2]!;
        received.set(id, (received.get(id) ?? 0) + 1);
        if (!firstAt.has(id)) firstAt.set(id, Number(m[1]));
        lastAt.set(id, Number(m[1]));
      });
    });
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!running(c)) return resolve();
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      // 'close', not 'exit': by then every line it printed has been read.
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGTERM');
    });
  await start();
  return {
    port: opts.port,
    received,
    firstAt,
    lastAt,
    total: () => total,
    pid: () => child?.pid,
    stop,
    start,
    close: stop,
  };
}

const isMain = process.argv[1] !== undefined && /scripts[\\/]lib[\\/]sink\.ts$/.test(process.argv[1]);
if (isMain) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { record: { type: 'boolean' }, 'delay-ms': { type: 'string' } } });
  const port = Number(positionals[0] ?? 0);
  const [user, pass] = (positionals[1] ?? '').split(':');
  const record = values.record === true;
  // Lines are gathered and written once per tick: one write per message would cost more than the message.
  let pending = '';
  const flush = () => {
    if (pending) process.stdout.write(pending);
    pending = '';
  };
  const sink = await startRecordingSink({
    port,
    record,
    dataDelayMs: Number(values['delay-ms'] ?? 0),
    ...(user && pass ? { auth: { user, pass } } : {}),
    ...(record
      ? {
          onReceived: (id: string, at: number) => {
            if (!pending) setImmediate(flush);
            pending += `+ ${at} ${id}\n`;
          },
        }
      : {}),
  });
  process.stdout.write(`listening ${sink.port}\n`);
  // At once, open connections and all: a stopped next hop refuses from this moment (bench:drain needs that).
  const stop = () => {
    flush();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
