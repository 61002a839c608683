// A TCP proxy on loopback that can hold back what the client sends by `delayMs`: a slow database, for real.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class SlowProxy {
  delayMs = 0;
  /** When set, the first chunk a client sends that matches is held back, with everything after it, forever. */
  holdFrom?: (chunk: Buffer) => boolean;
  /** Whether holdFrom has matched (the link is frozen from then on). */
  holding = false;
  /**
   * When set, the first chunk a client sends that matches goes through, and then every link freezes (both
   * directions, new connections too; sockets stay open) until thaw(): the server applies the write but its
   * answer, and everything after it, waits.
   */
  freezeAfter?: (chunk: Buffer) => boolean;
  frozen = false;
  private frozenChunks: { to: Socket; chunk: Buffer }[] = [];
  /** What the connection that matched holdFrom sent from then on (see deliverHeld). */
  private held: Buffer[] = [];
  private heldFrom?: object;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on `port` (0: any free one; a stopped proxy can start again on its old port). */
  async start(port = this.port): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      let releaseAt = 0;
      client.on('data', (chunk: Buffer) => {
        if (this.frozen) {
          this.frozenChunks.push({ to: upstream, chunk });
          return;
        }
        if (this.freezeAfter?.(chunk)) {
          upstream.write(chunk);
          this.frozen = true;
          return;
        }
        if (this.holding || this.holdFrom?.(chunk)) {
          this.heldFrom ??= client;
          if (this.heldFrom === client) this.held.push(chunk);
          this.holding = true;
          return;
        }
        // Keep order: a chunk never overtakes the one before it, whatever the delay was then.
        releaseAt = Math.max(Date.now() + this.delayMs, releaseAt);
        const wait = releaseAt - Date.now();
        if (wait <= 0) upstream.write(chunk);
        else setTimeout(() => upstream.destroyed || upstream.write(chunk), wait);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (this.frozen) this.frozenChunks.push({ to: client, chunk });
        else if (!client.destroyed) client.write(chunk);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /**
   * The held command reaches the server after all (a late write), on a connection of its own since the
   * client may have given up on its own; the link then flows again. Resolves once the server answered.
   */
  async deliverHeld(): Promise<void> {
    const data = Buffer.concat(this.held);
    this.held = [];
    this.heldFrom = undefined;
    this.holdFrom = undefined;
    this.holding = false;
    if (!data.length) return;
    await new Promise<void>((resolve, reject) => {
      const s = connect(this.targetPort, this.targetHost, () => s.write(data));
      s.once('data', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  }

  /** Every link flows again, starting with what waited, in order. */
  thaw(): void {
    this.frozen = false;
    this.freezeAfter = undefined;
    for (const { to, chunk } of this.frozenChunks.splice(0)) if (!to.destroyed) to.write(chunk);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** host and port of a single-host mongodb:// URI, or undefined (replica set lists, +srv). */
export function singleHostOf(uri: string): { host: string; port: number; rest: string } | undefined {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^,/:]+):(\d+)(\/.*)?$/.exec(uri);
  if (!m) return undefined;
  return { host: m[1]!, port: Number(m[2]), rest: m[3] ?? '/' };
}
