// A slow-loris client holds a connection slot for ever by sending a byte of a line just often enough to reset
// the idle timeout (found by `npm run test:hostile`, case slowloris-command). As Postfix does with
// smtpd_per_record_deadline, a line must arrive whole within the socket timeout: a sweep answers 421 (which
// closes the connection) when bytes of an unfinished line have been waiting longer than that. Commands and
// message lines alike (a message line is at most 998 characters; no real client takes a minute over one).
//
// It watches what the client sends through public parts of smtp-server and Node only: the listener's
// 'connection' event for the cleartext socket, and the onSecure handler for the TLS socket (after STARTTLS or on
// the implicit-TLS port), where the cleartext lines are. The reply goes out with the connection's public send().
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { SMTPServer, SMTPServerSession } from 'smtp-server';

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

export interface LineDeadline {
  /** Watches each cleartext connection of `server`; call for a listener that starts without TLS. */
  watchCleartext(server: SMTPServer): void;
  /** For smtp-server's onSecure: from now on the lines of this connection are read on its TLS socket. */
  onSecure: (socket: Socket, session: SMTPServerSession, callback: (err?: Error | null) => void) => void;
  stop(): void;
}

interface Watched {
  socket: Socket;
  server: SMTPServer | undefined;
  /** Since when bytes of an unfinished line have been waiting; null when the last byte ended a line. */
  since: number | null;
  stop: () => void;
}

const LF = 0x0a;

/** "ip:port" of the client, the same for a TCP socket and the TLS socket over it. */
function endpointOf(address: string | undefined, port: number | undefined): string {
  let ip = address ?? '';
  try {
    ip = ipaddr.process(ip).toString();
  } catch {
    // not an IP address: compared as it is
  }
  return `${ip}:${port ?? ''}`;
}

export function startLineDeadline(
  servers: SMTPServer[],
  deadlineMs: number,
  onExpired: (c: Connection | undefined, socket: Socket) => void,
  now: () => number = Date.now,
): LineDeadline {
  const watched = new Map<string, Watched>();

  const watch = (socket: Socket, server: SMTPServer | undefined) => {
    const key = endpointOf(socket.remoteAddress, socket.remotePort);
    watched.get(key)?.stop();
    const w: Watched = {
      socket,
      server,
      since: null,
      stop: () => {
        socket.removeListener('data', onData);
        socket.removeListener('close', w.stop);
        if (watched.get(key) === w) watched.delete(key);
      },
    };
    const onData = (chunk: Buffer) => {
      const lf = chunk.lastIndexOf(LF);
      if (lf === -1) w.since ??= now();
      else w.since = lf === chunk.length - 1 ? null : now();
    };
    socket.on('data', onData);
    socket.once('close', w.stop);
    watched.set(key, w);
  };

  const connectionOf = (w: Watched): Connection | undefined => {
    const key = endpointOf(w.socket.remoteAddress, w.socket.remotePort);
    for (const server of w.server ? [w.server] : servers) {
      for (const c of server.connections) if (endpointOf(c.remoteAddress, c.remotePort) === key) return c;
    }
    return undefined;
  };

  const sweep = () => {
    const t = now();
    for (const w of [...watched.values()]) {
      // Paused by smtp-server (it is the slow one, holding the rest of the line back): not the client's time.
      if (w.since === null || w.socket.isPaused()) {
        if (w.since !== null) w.since = t;
        continue;
      }
      if (t - w.since > deadlineMs) {
        w.stop();
        onExpired(connectionOf(w), w.socket);
      }
    }
  };
  const timer = setInterval(sweep, Math.max(50, Math.min(1_000, Math.floor(deadlineMs / 4))));
  timer.unref();

  const listeners: [SMTPServer, (socket: Socket) => void][] = [];
  return {
    watchCleartext(server) {
      // A 'data' listener attached before smtp-server pipes the socket to its parser (one setImmediate after its
      // own 'connection' listener) would start the flow and take bytes the parser never sees: wait for the pipe.
      const whenPiped = (socket: Socket, tries: number) => {
        if (socket.destroyed) return;
        if (socket.listenerCount('data') > 0) watch(socket, server);
        else if (tries > 0) setImmediate(() => whenPiped(socket, tries - 1));
      };
      const listener = (socket: Socket) => setImmediate(() => whenPiped(socket, 100));
      server.server.on('connection', listener);
      listeners.push([server, listener]);
    },
    onSecure(socket, _session, callback) {
      // smtp-server pipes the TLS socket to its parser in this callback: watch it right after.
      callback();
      if (!socket.destroyed) watch(socket, undefined);
    },
    stop() {
      clearInterval(timer);
      for (const [server, listener] of listeners) server.server.off('connection', listener);
      for (const w of [...watched.values()]) w.stop();
    },
  };
}
