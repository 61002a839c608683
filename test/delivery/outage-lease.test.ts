// A worker cut off from the database for longer than its lease, after the next hop took its message: once the
// database is back, that worker's outcome must land before another worker sends the message again. A leased
// message becomes due for others one lease after its lease ends (queue/record.ts dueAfterLease), and the
// worker keeps trying its finish while the database is away. The --slow-upstream --workers 2 soak showed two
// messages sent twice this way (a 5 s lease, the database stopped for 8 s).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/delivery/worker.ts';
import { testDatabaseUri } from '../helpers/database.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { eventually } from '../helpers/relay.ts';
import { SlowProxy, singleHostOf } from '../helpers/slow-proxy.ts';
import { startTestSink, type TestSink } from '../helpers/smtp-sink.ts';

const LEASE_MS = 4_000;
const OUTAGE_MS = 5_000;

let direct: DeliveryHarness;
let cutOff: DeliveryHarness;
let proxy: SlowProxy;
let sink: TestSink;
const workers: DeliveryWorker[] = [];

beforeAll(async () => {
  const uri = testDatabaseUri();
  const target = singleHostOf(uri)!;
  proxy = await new SlowProxy(target.host, target.port).start();
  direct = await openDeliveryHarness({ uri, env: { LOG_LEVEL: 'warn' } });
  cutOff = await openDeliveryHarness({ uri: `mongodb://127.0.0.1:${proxy.port}${target.rest}`, env: { LOG_LEVEL: 'warn' } });
}, 60_000);
afterAll(async () => {
  for (const w of workers) await w.stop();
  await cutOff?.close();
  await direct?.close();
  await proxy?.close();
  await sink?.close();
});

it('the cut-off worker writes its outcome once the database is back; the other worker does not send the message again', async () => {
  let outageOver: Promise<void> | undefined;
  sink = await startTestSink({
    onData: () => {
      // The next hop has the message; the worker's database goes away before it can write that down.
      outageOver ??= proxy.close().then(() => new Promise<void>((r) => setTimeout(() => r(), OUTAGE_MS)));
    },
  });
  const options = { upstreamUrl: `smtp://127.0.0.1:${sink.port}`, leaseMs: LEASE_MS, pollMinMs: 20, pollMaxMs: 50, dueScanIntervalMs: 50, queueDepthIntervalMs: 0 };
  workers.push(startDeliveryWorker(cutOff.rt, { ...options, workerId: 'cut-off' }));
  const id = await direct.enqueue({ to: ['someone@example.test'], body: testMessage({ messageId: '<outage@sender.test>' }) });
  await eventually(() => sink.messages.length === 1, 10_000, 'the first delivery');
  // Another worker, whose database stays up, looks for due mail all the time.
  workers.push(startDeliveryWorker(direct.rt, { ...options, workerId: 'other' }));
  await outageOver;
  await proxy.start();
  await eventually(async () => (await direct.message(id)).state === 'done', 15_000, 'the outcome to land');
  // Past the time the other worker would have taken the message.
  await new Promise((r) => setTimeout(r, LEASE_MS));
  expect(sink.messages.map((m) => m.messageId)).toEqual(['<outage@sender.test>']);
  expect((await direct.message(id)).recipients.map((r) => r.status)).toEqual(['delivered']);
}, 60_000);
