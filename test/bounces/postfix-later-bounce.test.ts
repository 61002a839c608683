// A real Postfix as the next hop: it accepts the message with 250, fails it afterwards (its transport map sends
// the recipient's domain to `error:`), and sends its own DSN to the message's return path, which its transport
// map routes to our bounces listener on loopback. Skipped, saying so, only where Postfix is not installed (or
// not run as root); under CI=true it must run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBouncesServer, type RunningBounces } from '../../src/bounces/server.ts';
import { startDeliveryWorker } from '../../src/delivery/worker.ts';
import { accountDailyStats, showAccount, type DomainEvent } from '../../src/domain/index.ts';
import { decodeReturnPath } from '../../src/shared/return-path.ts';
import { laterOutcomeRepository } from '../../src/store/later-outcomes.ts';
import { openDeliveryHarness, testMessage, type DeliveryHarness } from '../helpers/delivery.ts';
import { admin } from '../helpers/domain.ts';
import { postfixInstalled, startPostfix, type PostfixInstance } from '../helpers/postfix.ts';
import { sendReport } from '../helpers/reports.ts';

const DOMAIN = 'rp.smtpdesk.test';
const SECRET = 'postfix test secret of 32 chars.';
const run = postfixInstalled || process.env.CI === 'true';
const skipNote = run ? '' : ' (skipped: Postfix not installed or not root; apt-get install postfix)';

let h: DeliveryHarness;
let bounces: RunningBounces;
let postfix: PostfixInstance;
const events: DomainEvent[] = [];
const tapped: { rcptTo: string[]; raw: Buffer }[] = [];

beforeAll(async () => {
  if (!run) return;
  h = await openDeliveryHarness({ env: { RETURN_PATH_DOMAIN: DOMAIN, RETURN_PATH_SECRET: SECRET } });
  h.rt.events.subscribe({ publish: (e) => void events.push(e) });
  bounces = await startBouncesServer(
    {
      port: 0,
      host: '127.0.0.1',
      hostname: 'bounces.smtpdesk.test',
      returnPathDomain: DOMAIN,
      returnPathKey: Buffer.from(SECRET),
      maxMessageSize: 1024 * 1024,
      maxClients: 20,
      maxConnectionsPerClient: 5,
      maxMessagesPerClientPerMinute: 100,
    },
    { ctx: h.rt.ctx, later: laterOutcomeRepository(h.rt.db.models, h.rt), log: h.rt.log, metrics: h.rt.metrics, clock: () => new Date(), tap: (r) => void tapped.push(r) },
  );
  postfix = await startPostfix({
    relayDomains: ['remote.test'],
    transport: ['remote.test error:5.1.1 User unknown in the remote mailbox table', `${DOMAIN} smtp:[127.0.0.1]:${bounces.port}`],
  });
}, 60_000);
afterAll(async () => {
  await postfix?.stop();
  await bounces?.close();
  await h?.close();
});

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms; Postfix log:\n${postfix.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe(`a later bounce from a real Postfix${skipNote}`, () => {
  it.skipIf(!run)(
    'turns the accepted recipient bounced once, suppresses it and sends message.bounced; the same DSN again counts nothing',
    async () => {
      const counters = async () => (await showAccount(h.rt.ctx, admin, h.workspace.id, h.account.name)).counters;
      const before = await counters();
      const dayBefore = (await accountDailyStats(h.rt.ctx, admin, h.workspace.id, h.account.name, 1)).totals;
      const id = await h.enqueue({ to: ['gone@remote.test'], body: testMessage({ messageId: '<pf-later@sender.test>', to: 'gone@remote.test' }) });
      const w = startDeliveryWorker(h.rt, { upstreamUrl: `smtp://127.0.0.1:${postfix.port}`, pollMinMs: 20, queueDepthIntervalMs: 0 });
      await w.drain(20_000);
      await w.stop();
      // Postfix took it with 250, so the worker counted it delivered...
      expect(h.logs.some((l) => l.code === 'DELIVERY_DELIVERED' && l.queueId === id)).toBe(true);

      // ...then fails it and sends its DSN to the return path: our listener takes it (Postfix may be done
      // before the worker has stopped, so the state in between is not asserted).
      const recipient = (
        await until(
          'the later bounce',
          () => h.message(id),
          (m) => m.recipients[0]!.status === 'bounced',
        )
      ).recipients[0]!;
      expect(recipient.response, JSON.stringify(recipient) + postfix.log()).toMatch(/^250 /);
      // Net of delivered +1 (the worker) and delivered −1, bounced +1 (the later bounce), once each.
      const after = await counters();
      expect({ delivered: after.delivered - before.delivered, bounced: after.bounced - before.bounced }).toEqual({ delivered: 0, bounced: 1 });
      const dayAfter = (await accountDailyStats(h.rt.ctx, admin, h.workspace.id, h.account.name, 1)).totals;
      expect({ delivered: dayAfter.delivered - dayBefore.delivered, bounced: dayAfter.bounced - dayBefore.bounced }).toEqual({ delivered: 0, bounced: 1 });
      expect(await h.rt.ctx.suppressions.find(h.workspace.id, 'gone@remote.test')).toMatchObject({ source: 'bounce' });
      expect(events.filter((e) => e.type === 'message.bounced').map((e) => e.details)).toEqual([
        expect.objectContaining({ queueId: id, recipient: 'gone@remote.test', later: true, status: '5.1.1' }),
      ]);

      // What Postfix sent was a real RFC 3464 report to the signed return path of that recipient.
      expect(tapped).toHaveLength(1);
      expect(decodeReturnPath(Buffer.from(SECRET), DOMAIN, tapped[0]!.rcptTo[0])).toEqual({ queueId: id, recipient: 0 });
      expect(tapped[0]!.raw.toString()).toMatch(/message\/delivery-status/);

      // The same DSN a second time: answered 250, counted nothing.
      const again = await sendReport(bounces.port, tapped[0]!.rcptTo[0]!, tapped[0]!.raw.toString('latin1'));
      expect(again.data?.code).toBe(250);
      expect(await counters()).toEqual(after);
      expect(events.filter((e) => e.type === 'message.bounced')).toHaveLength(1);
    },
    90_000,
  );
});
