// The parts test:soak and bench:drain judge smtpdesk with: if they are wrong, so are the verdicts.
//   - the hang proxy holds every byte, both ways, open sockets and new ones, without closing anything, then
//     lets it all through in order;
//   - the recording sink counts a message when it answers 250, and with a delay (a slow next hop) does not count
//     one whose sender hung up before the answer (that sender never saw a 250 and will send it again);
//   - a duplicate is excused only when its copies straddle a worker's SIGKILL.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findDuplicates } from '../../scripts/lib/duplicates.ts';
import { startHangProxy, type HangProxy } from '../../scripts/lib/hang-proxy.ts';
import { startRecordingSink, type RecordingSink } from '../../scripts/lib/sink.ts';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function echoServer(): Promise<Server> {
  const server = createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

async function proxyTo(server: Server): Promise<HangProxy> {
  const proxy = await startHangProxy(`mongodb://127.0.0.1:${(server.address() as { port: number }).port}/db`);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function open(port: number): Promise<{ socket: Socket; write: (d: string) => void; got: () => string; closed: () => boolean }> {
  const s = connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let got = '';
  let closed = false;
  s.on('data', (d: Buffer) => (got += d.toString()));
  s.on('close', () => (closed = true));
  cleanups.push(() => void s.destroy());
  return { socket: s, write: (d) => void s.write(d), got: () => got, closed: () => closed };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hang proxy', () => {
  it('forwards both ways, then holds everything while hanging without closing a socket, then delivers it in order', async () => {
    const proxy = await proxyTo(await echoServer());
    expect(proxy.uri).toBe(`mongodb://127.0.0.1:${proxy.port}/db`);
    const a = await open(proxy.port);
    a.write('one;');
    await settle(100);
    expect(a.got()).toBe('one;');

    proxy.hang();
    a.write('two;');
    const b = await open(proxy.port); // a connection made while hanging is accepted, and held too
    b.write('bee;');
    await settle(400);
    expect([a.got(), b.got(), a.closed(), b.closed()]).toEqual(['one;', '', false, false]);

    a.write('three;');
    proxy.resume();
    await settle(200);
    expect([a.got(), b.got()]).toEqual(['one;two;three;', 'bee;']);
  });

  it('refuses what is not a single-host mongodb:// URI', async () => {
    await expect(startHangProxy('mongodb+srv://cluster.example.com/db')).rejects.toThrow(/single-host mongodb:\/\//);
    await expect(startHangProxy('mongodb://a:1,b:2/db')).rejects.toThrow();
  });
});

async function sink(opts: { dataDelayMs?: number }): Promise<RecordingSink> {
  const s = await startRecordingSink({ record: true, ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function sendUpToData(port: number, id: string): Promise<RawSmtpClient> {
  const c = await RawSmtpClient.connect(port);
  cleanups.push(() => c.close());
  expect((await c.command('EHLO test.example')).code).toBe(250);
  expect((await c.command('MAIL FROM:<a@example.com>')).code).toBe(250);
  expect((await c.command('RCPT TO:<b@example.org>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.write(`Message-ID: <${id}>\r\nSubject: t\r\n\r\nbody\r\n.\r\n`);
  return c;
}

describe('recording sink', () => {
  it('counts a message by Message-ID when it answers 250', async () => {
    const s = await sink({});
    for (const id of ['m1@test', 'm2@test', 'm1@test']) {
      const c = await sendUpToData(s.port, id);
      expect((await c.read()).code).toBe(250);
    }
    expect(s.total()).toBe(3);
    expect(Object.fromEntries(s.received)).toEqual({ 'm1@test': 2, 'm2@test': 1 });
    expect(s.firstAt.get('m1@test')).toBeLessThanOrEqual(Date.now());
  });

  it('with a delay, answers late and does not count a message whose sender hung up before the answer', async () => {
    const s = await sink({ dataDelayMs: 600 });
    const patient = await sendUpToData(s.port, 'patient@test');
    const started = Date.now();
    const gone = await sendUpToData(s.port, 'gone@test');
    await settle(100);
    gone.close();
    expect((await patient.read()).code).toBe(250);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await settle(700);
    expect(Object.fromEntries(s.received)).toEqual({ 'patient@test': 1 });
    expect(s.total()).toBe(1);
  });
});

describe('duplicates at the sink', () => {
  const KILL = 1_000_000;
  // [case, copies, first copy at, last copy at (ms relative to the kill; undefined: never recorded), excused]
  const cases: [string, number, number | undefined, number | undefined, boolean][] = [
    ['once is not a duplicate', 1, -500, -500, false],
    ['first copy 500 ms before the kill, the next after it', 2, -500, 3_000, true],
    ['first copy exactly at the kill, the next after it', 2, 0, 3_000, true],
    ['first copy 40 s before the kill, the next after it', 3, -40_000, 5_000, true],
    ['both copies before the kill (a live worker sent it again)', 2, -3_000, -1, false],
    ['first copy answered 300 ms after the kill was taken (its DATA already sent), the next later', 2, 300, 5_000, true],
    ['both copies after the kill', 2, 1_500, 5_000, false],
    ['no arrival time', 2, undefined, undefined, false],
  ];
  it.each(cases)('%s', (_name, copies, first, last, excused) => {
    const received = new Map([['m@test', copies]]);
    const firstAt = new Map(first === undefined ? [] : [['m@test', KILL + first]]);
    const lastAt = new Map(last === undefined ? [] : [['m@test', KILL + last]]);
    const d = findDuplicates(received, firstAt, lastAt, [KILL - 60_000, KILL]);
    expect(d.all.length).toBe(copies > 1 ? 1 : 0);
    expect(d.acrossKill.length).toBe(excused && copies > 1 ? 1 : 0);
  });

  it('without any kill, every duplicate counts', () => {
    const received = new Map([
      ['a', 2],
      ['b', 1],
      ['c', 4],
    ]);
    const d = findDuplicates(received, new Map([['a', 5]]), new Map([['a', 9]]), []);
    expect(d.all).toEqual([
      ['a', 2],
      ['c', 4],
    ]);
    expect(d.acrossKill).toEqual([]);
  });
});
