// A bare smtp-server that accepts everything and records each message's Message-ID: the soak test's
// reconciliation point, and Node's ceiling in the benchmark (run as a child process there:
// `node --import tsx scripts/lib/sink.ts PORT [USER:PASS]`, which prints "listening PORT").
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface RecordingSink {
  port: number;
  /** Message-ID -> times received. */
  received: Map<string, number>;
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
}

export async function startRecordingSink(opts: SinkOptions = {}): Promise<RecordingSink> {
  const received = new Map<string, number>();
  let total = 0;
  const options: SMTPServerOptions = {
    secure: false,
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !opts.auth,
    logger: false,
    size: 64 * 1024 * 1024,
    maxClients: 10_000,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      const err = new Error('Authentication failed') as Error & { responseCode: number };
      err.responseCode = 535;
      cb(err);
    },
    onData(stream, _session, cb) {
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
        total++;
        if (opts.record !== false) {
          const m = /^message-id:\s*<([^>\r\n]+)>/im.exec(head);
          const id = m?.[1] ?? '(none)';
          received.set(id, (received.get(id) ?? 0) + 1);
        }
        cb(null, 'Ok: queued');
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
  return {
    port,
    received,
    total: () => total,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const isMain = process.argv[1] !== undefined && /scripts[\\/]lib[\\/]sink\.ts$/.test(process.argv[1]);
if (isMain) {
  const port = Number(process.argv[2] ?? 0);
  const [user, pass] = (process.argv[3] ?? '').split(':');
  const sink = await startRecordingSink({ port, record: false, ...(user && pass ? { auth: { user, pass } } : {}) });
  process.stdout.write(`listening ${sink.port}\n`);
  process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)));
  process.on('SIGINT', () => void sink.close().then(() => process.exit(0)));
}
