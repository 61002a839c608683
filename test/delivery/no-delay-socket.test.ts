// The worker's connections to the next hop have Nagle's algorithm off (noDelaySocket). nodemailer 7 uses only
// the `connection` a getSocket hands it and silently ignores a `socket`: handed an unconnected socket, it
// opened its own connection, Nagle on, and every small message waited about 40 ms for the peer's delayed ACK
// (the worker delivered about 150 a second in bench:compare with 10 slots). Here the sink sees each session
// come from the very socket noDelaySocket made, for the pooled transport (smarthost) and the single one (MX).
import type { Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { noDelaySocket } from '../../src/delivery/transport.ts';
import { closedPort, startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

const raw = Buffer.from('From: a@acme.test\r\nTo: b@example.test\r\nSubject: nagle\r\nMessage-ID: <m@acme.test>\r\n\r\nhi\r\n');
let sink: TestSink | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

/** noDelaySocket, noting each connection it hands over. */
function recordingSockets() {
  const ports = new Set<number>();
  const base = noDelaySocket(5_000);
  const getSocket = (o: { host?: string; port?: number }, cb: (err: Error | null, s?: { connection: Socket }) => void) =>
    base(o, (err, s) => {
      s?.connection.once('connect', () => ports.add(s.connection.localPort!));
      cb(err, s);
    });
  return { ports, getSocket };
}

describe('noDelaySocket', () => {
  for (const pool of [true, false]) {
    it(`is the connection nodemailer sends on (${pool ? 'pooled, as to a smarthost' : 'one transaction, as to an MX'})`, async () => {
      const clientPorts: number[] = [];
      sink = await startTestSink({ onRcpt: (_a, session) => void clientPorts.push(session.remotePort) });
      const { ports, getSocket } = recordingSockets();
      const transport = nodemailer.createTransport({ pool, host: '127.0.0.1', port: sink.port, ignoreTLS: true, logger: false, getSocket } as never);
      try {
        for (let i = 0; i < 3; i++) await transport.sendMail({ envelope: { from: 'a@acme.test', to: ['b@example.test'] }, raw });
      } finally {
        transport.close();
      }
      expect(sink.messages).toHaveLength(3);
      expect(clientPorts).toHaveLength(3);
      expect(clientPorts.filter((p) => !ports.has(p))).toEqual([]);
    });
  }

  it('reports a refused connect as nodemailer reports its own (a connection-stage error, the pool not stuck)', async () => {
    const port = await closedPort();
    const { getSocket } = recordingSockets();
    const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port, logger: false, getSocket } as never);
    try {
      await expect(transport.sendMail({ envelope: { from: 'a@acme.test', to: ['b@example.test'] }, raw })).rejects.toMatchObject({ code: 'ESOCKET', command: 'CONN' });
    } finally {
      transport.close();
    }
  });
});
