// A real SMTP server on 127.0.0.1 (ephemeral port) that plays the upstream smarthost or a recipient's MX:
// it records every transaction (envelope and the exact bytes received) and answers RCPT and DATA as the
// test decides, e.g. 451 first and 250 later, or 550 for one mailbox.
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface SinkReply {
  code: number;
  message: string;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  /** The message as the server got it after DATA (dot-unstuffed by smtp-server). */
  raw: Buffer;
  /** The Message-ID header, when present. */
  messageId?: string;
  heloName: string;
  /** MAIL FROM parameters, e.g. { BODY: '8BITMIME', SMTPUTF8: true }. */
  mailArgs: Record<string, unknown>;
  user?: string;
  secure: boolean;
  /** When the end of DATA arrived (Date.now()): from then on the server holds the message. */
  receivedAt: number;
}

export interface TestSinkOptions {
  /** Answer for one RCPT TO; undefined/void = 250. */
  onRcpt?: (address: string, session: SMTPServerSession) => SinkReply | void;
  /** Answer at the end of DATA; undefined/void = 250. Called before the message is recorded. */
  onData?: (message: ReceivedMessage) => SinkReply | void;
  /** Require AUTH with these credentials (PLAIN/LOGIN, no TLS: loopback only). */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS with smtp-server's built-in self-signed certificate. */
  starttls?: boolean;
  /** Delay before answering DATA, to keep deliveries in flight after the message was handed over. */
  dataDelayMs?: number;
  /** Delay before answering RCPT TO, to keep deliveries in flight before the message is handed over. */
  rcptDelayMs?: number;
  /** Bind to this port instead of an ephemeral one. */
  port?: number;
}

export interface TestSink {
  port: number;
  /** Accepted messages, in order. */
  messages: ReceivedMessage[];
  /** Every transaction that reached DATA, accepted or not. */
  attempts: number;
  /** RCPT TO or DATA answers being held back right now (rcptDelayMs, dataDelayMs): clients waiting on us. */
  heldAnswers: number;
  /** Message-ID -> times accepted. */
  countsByMessageId(): Map<string, number>;
  waitForMessages(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestSink(opts: TestSinkOptions = {}): Promise<TestSink> {
  const messages: ReceivedMessage[] = [];
  let attempts = 0;
  let held = 0;
  const later = (ms: number, answer: () => void) => {
    held++;
    setTimeout(() => {
      held--;
      answer();
    }, ms);
  };
  const err = (r: SinkReply) => Object.assign(new Error(r.message), { responseCode: r.code });
  const options: SMTPServerOptions = {
    secure: false,
    disabledCommands: [...(opts.starttls ? [] : ['STARTTLS']), ...(opts.auth ? [] : ['AUTH'])],
    allowInsecureAuth: true,
    authOptional: !opts.auth,
    logger: false,
    size: 64 * 1024 * 1024,
    maxClients: 1000,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      cb(err({ code: 535, message: 'Authentication failed' }));
    },
    onRcptTo(address, session, cb) {
      const answer = () => {
        const reply = opts.onRcpt?.(address.address, session);
        if (reply && reply.code >= 400) return cb(err(reply));
        cb();
      };
      if (opts.rcptDelayMs) later(opts.rcptDelayMs, answer);
      else answer();
    },
    onData(stream, session, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        attempts++;
        const raw = Buffer.concat(parts);
        const head = raw.subarray(0, raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.length).toString('latin1');
        const messageId = /^message-id:\s*(.+)$/im.exec(head)?.[1]?.trim();
        const msg: ReceivedMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          messageId,
          heloName: session.hostNameAppearsAs,
          mailArgs: (session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, unknown> | false) : false) || {},
          user: session.user as string | undefined,
          secure: session.secure,
          receivedAt: Date.now(),
        };
        const answer = () => {
          const reply = opts.onData?.(msg);
          if (reply && reply.code >= 400) return cb(err(reply));
          messages.push(msg);
          cb(null, `2.0.0 Ok: queued as sink-${messages.length}`);
        };
        if (opts.dataDelayMs) later(opts.dataDelayMs, answer);
        else answer();
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    messages,
    get attempts() {
      return attempts;
    },
    get heldAnswers() {
      return held;
    },
    countsByMessageId() {
      const counts = new Map<string, number>();
      for (const m of messages) if (m.messageId) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
      return counts;
    },
    async waitForMessages(n, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > until) throw new Error(`sink got ${messages.length} of ${n} messages within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
