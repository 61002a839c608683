// A raw SMTP client for hostile input: writes exactly the bytes it is given (bare LF, NUL, pipelined
// commands, half lines), reads replies as they come, upgrades to TLS on demand. Loopback only.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface Reply {
  code: number;
  text: string;
}

export type ReadResult = Reply | 'closed' | 'timeout';

export class RawSmtp {
  private socket: Socket | TLSSocket;
  private buf = '';
  private replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  /** Bytes received since the last TLS upgrade (to catch replies to injected commands). */
  receivedSinceTls = 0;
  closed = false;
  closeReason = '';

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  static connect(port: number, opts: { host?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<RawSmtp> {
    const host = opts.host ?? '127.0.0.1';
    if (!/^127\./.test(host)) throw new Error('raw SMTP client: loopback only');
    return new Promise((resolve, reject) => {
      const s = netConnect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      const t = setTimeout(() => (s.destroy(), reject(new Error('connect timeout'))), opts.timeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(new RawSmtp(s));
      });
      s.once('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
  }

  private attach(s: Socket | TLSSocket): void {
    s.on('data', (d: Buffer) => {
      this.receivedSinceTls += d.length;
      this.buf += d.toString('latin1');
      this.parse();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', (err: Error) => {
      this.closeReason = err.message;
    });
  }

  private parse(): void {
    let lines: string[] = [];
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i < 0) break;
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      lines.push(line);
      const m = /^(\d{3})([ -])?(.*)$/.exec(line);
      if (!m || m[2] !== '-') {
        const code = m ? Number(m[1]) : 0;
        this.replies.push({ code, text: lines.map((l) => l.slice(4)).join('\n') });
        lines = [];
      }
    }
    if (lines.length) this.buf = lines.map((l) => `${l}\r\n`).join('') + this.buf;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next reply, or 'closed' / 'timeout'. */
  async read(timeoutMs = 5000): Promise<ReadResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.shift();
      if (r) return r;
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Replaces the socket by a TLS socket over it (after a 220 to STARTTLS). */
  async starttls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    // Anything still buffered in plaintext belongs to the plaintext session.
    this.buf = '';
    this.replies = [];
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.receivedSinceTls = 0;
    this.attach(secure);
  }

  /** Writes `data` one byte every `intervalMs` until done, closed or `maxMs` passed; returns bytes written. */
  async dribble(data: string, intervalMs: number, maxMs: number): Promise<number> {
    const until = Date.now() + maxMs;
    let n = 0;
    for (const ch of data) {
      if (this.closed || Date.now() > until) break;
      this.write(ch);
      n++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return n;
  }

  close(): void {
    this.socket.destroy();
  }
}
