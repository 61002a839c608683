// A smarthost that refuses connections for a while: every send fails at once as a temporary failure, and once
// the smarthost is back the same transport delivers again. nodemailer's pool kept a resource whose socket
// failed to connect in our getSocket as busy for ever; after maxConnections refusals it froze, and the
// worker with it (found by bench:drain).
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstreamTransport } from '../../src/delivery/transport-upstream.ts';
import type { Transport } from '../../src/delivery/transport.ts';
import { closedPort, startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

const raw = Buffer.from('From: a@acme.test\r\nTo: b@example.test\r\nSubject: back\r\nMessage-ID: <m@acme.test>\r\n\r\nhi\r\n');
let transport: Transport | undefined;
let sink: TestSink | undefined;

afterEach(async () => {
  await transport?.close();
  await sink?.close();
  transport = sink = undefined;
});

describe('upstream smarthost refusing connections', () => {
  it('fails each send at once while refused, then delivers when the smarthost is back', async () => {
    const port = await closedPort();
    const maxConnections = 3;
    transport = createUpstreamTransport({ url: `smtp://127.0.0.1:${port}`, tlsVerify: false, heloName: 'test', maxConnections, timeouts: { connectionMs: 2_000 } });

    // Many more refused connects than the pool has connections.
    const refused = await Promise.all(Array.from({ length: maxConnections * 5 }, () => transport!.send({ from: 'a@acme.test', to: ['b@example.test'] }, raw)));
    for (const [r] of refused) {
      expect(r!.delivered).toBe(false);
      if (!r!.delivered) expect(r!.failure.kind).toBe('temporary');
    }

    sink = await startTestSink({ port });
    const back = await Promise.all(Array.from({ length: maxConnections * 2 }, () => transport!.send({ from: 'a@acme.test', to: ['b@example.test'] }, raw)));
    expect(back.map(([r]) => r!.delivered)).toEqual(Array(maxConnections * 2).fill(true));
    expect(sink.messages).toHaveLength(maxConnections * 2);
  }, 20_000);
});
