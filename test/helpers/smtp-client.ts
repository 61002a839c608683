// A raw SMTP client over a real socket, for what libraries will not send: bare LFs, NULs in addresses,
// pipelined smuggling attempts. It reads replies (multi-line aware) and can upgrade with STARTTLS.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface SmtpReply {
  code: number;
  text: string;
}

export class RawSmtpClient {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  static async connect(port: number, opts: { implicitTls?: boolean; timeoutMs?: number; localAddress?: string } = {}): Promise<RawSmtpClient> {
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.implicitTls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: '127.0.0.1', port, localAddress: opts.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setTimeout(opts.timeoutMs ?? 20_000, () => socket.destroy(new Error('raw SMTP client timed out')));
    const client = new RawSmtpClient(socket);
    const greeting = await client.read();
    if (greeting.code !== 220) throw new Error(`unexpected greeting ${greeting.code} ${greeting.text}`);
    return client;
  }

  private attach(socket: Socket | TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Reads one (possibly multi-line) reply. */
  async read(timeoutMs = 20_000): Promise<SmtpReply> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buffer.split('\r\n');
      // find the first line that ends a reply: "NNN " or "NNN" alone
      let consumed = 0;
      for (let i = 0; i < lines.length - 1; i++) {
        const line = lines[i]!;
        consumed += line.length + 2;
        if (/^\d{3}( |$)/.test(line)) {
          const text = lines
            .slice(0, i + 1)
            .map((l) => l.slice(4))
            .join('\n');
          this.buffer = this.buffer.slice(consumed);
          return { code: Number(line.slice(0, 3)), text };
        }
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async command(line: string | Buffer): Promise<SmtpReply> {
    this.write(typeof line === 'string' ? `${line}\r\n` : line);
    return this.read();
  }

  async startTls(): Promise<void> {
    const r = await this.command('STARTTLS');
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.code} ${r.text}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.attach(this.socket);
  }

  /** EHLO, STARTTLS, EHLO, AUTH PLAIN. Returns the AUTH reply. */
  async login(username: string, password: string, opts: { tls?: boolean } = {}): Promise<SmtpReply> {
    await this.command('EHLO client.test');
    if (opts.tls !== false) {
      await this.startTls();
      await this.command('EHLO client.test');
    }
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
