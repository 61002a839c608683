// Slow-loris: a client that dribbles a command line a byte at a time (each byte resetting the idle timeout)
// is answered 421 once the line is older than the socket timeout; a client that completes its lines is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtpClient } from '../helpers/smtp-client.ts';
import { startTestRelay, type TestRelay } from '../helpers/relay.ts';

let t: TestRelay;

beforeAll(async () => {
  t = await startTestRelay({ env: { RELAY_SOCKET_TIMEOUT_SECONDS: '1' } });
});
afterAll(async () => {
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('command line deadline', () => {
  it('answers 421 to a command line dribbled for longer than the socket timeout', async () => {
    const c = await RawSmtpClient.connect(t.port);
    const started = Date.now();
    let reply: { code: number; text: string } | undefined;
    const reading = c.read(10_000).then((r) => (reply = r));
    for (const ch of 'EHLO slow-loris.example.test') {
      if (reply || c.isClosed) break;
      c.write(ch);
      await sleep(150);
    }
    await reading;
    expect(reply?.code).toBe(421);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(t.logs.some((l) => l.code === 'RELAY_LINE_DEADLINE')).toBe(true);
    c.close();
  });

  it('leaves alone a client whose lines arrive whole, however slowly they follow each other', async () => {
    const c = await RawSmtpClient.connect(t.port);
    for (let i = 0; i < 3; i++) {
      expect((await c.command('NOOP')).code).toBe(250);
      await sleep(700);
    }
    expect(c.isClosed).toBe(false);
    c.close();
  });
});
