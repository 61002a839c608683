// A TCP proxy on loopback between smtpdesk and its database that can hang: stop forwarding in both directions
// for a while WITHOUT closing a socket, then go on where it stopped. To the driver the database is alive (the
// connections stay open, nothing is refused) but answers nothing: the fault a timeout has to catch, unlike
// a stopped database, which refuses at once. (test/helpers/slow-proxy.ts delays or freezes one link for
// the unit tests; this one freezes every link, new ones included, and lets them all go again.)
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface HangProxy {
  port: number;
  /** The proxied URI: `uri` with its host and port replaced by the proxy's. */
  uri: string;
  hanging(): boolean;
  /** Stops forwarding on every connection, open or yet to come; bytes wait in the sockets' buffers. */
  hang(): void;
  /** Forwards again, starting with what waited. */
  resume(): void;
  close(): Promise<void>;
}

/** A proxy for a single-host mongodb:// URI (the dedicated FerretDB's). */
export async function startHangProxy(uri: string): Promise<HangProxy> {
  const target = new URL(uri);
  const targetPort = Number(target.port);
  if (target.protocol !== 'mongodb:' || !targetPort) throw new Error(`hang proxy: need a single-host mongodb:// URI with a port, not ${uri}`);
  const sockets = new Set<Socket>();
  let hung = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      // A paused socket is not read: what the peer sends stays in the kernel's buffers, nothing is lost.
      if (hung) s.pause();
    }
    // By hand rather than pipe(): pipe() resumes a source when its destination drains, hang or not.
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (!to.destroyed && !to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (!hung) from.resume();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const proxied = new URL(uri);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return {
    port,
    uri: proxied.toString(),
    hanging: () => hung,
    hang() {
      hung = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      hung = false;
      for (const s of sockets) s.resume();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
