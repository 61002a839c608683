// The retention job: bodies of finished messages older than DELIVERY_RETENTION_DAYS go, the messages stay.
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DAY_MS } from '../../src/domain/index.ts';
import { retentionJob } from '../../src/jobs/retention-job.ts';
import { createLogger } from '../../src/log.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { jobClock, jobsOn, type JobsUnderTest } from '../helpers/jobs.ts';

const now = new Date('2026-11-20T03:30:00Z');
let rt: Runtime;
let uri: string;
let jobs: JobsUnderTest;

beforeAll(async () => {
  uri = testDatabaseUri();
  rt = await openAppRuntime(loadConfig({ MONGODB_URI: uri, BCRYPT_COST: '4', DELIVERY_RETENTION_DAYS: '7' }), { log: createLogger({ level: 'silent' }), quiet: true });
  jobs = jobsOn(rt, jobClock(now));
});
afterAll(async () => {
  await rt?.close();
  if (uri) await dropTestDatabase(uri);
});

async function message(state: 'queued' | 'done', finishedDaysAgo: number | null, chunks: number): Promise<Types.ObjectId> {
  const _id = new Types.ObjectId();
  const at = new Date(now.getTime() - (finishedDaysAgo ?? 0) * DAY_MS);
  await rt.db.models.queuedMessages.create({
    _id,
    workspaceId: 'w1',
    accountId: 'a1',
    username: 'smtp-test',
    envelope: { from: 'app@example.com', to: ['someone@example.org'] },
    recipients: [{ address: 'someone@example.org', domain: 'example.org', status: state === 'done' ? 'delivered' : 'queued' }],
    size: 100 * chunks,
    chunks,
    state,
    nextAttemptAt: at,
    createdAt: new Date(at.getTime() - 60_000),
    ...(finishedDaysAgo !== null ? { finishedAt: at } : {}),
  });
  for (let n = 0; n < chunks; n++) {
    await rt.db.models.messageChunks.create({ _id: `${_id.toHexString()}:${n}`, messageId: _id, n, data: Buffer.from(`part ${n}`) });
  }
  return _id;
}

describe('retention job', () => {
  it('removes only the bodies of messages finished more than 7 days ago; a dry run only counts them', async () => {
    const old = await message('done', 10, 2);
    const recent = await message('done', 2, 1);
    const queued = await message('queued', null, 1);

    const dry = await jobs.runner().runNow(retentionJob, { dryRun: true });
    expect(dry.summary).toMatch(/^1 finished message\(s\) from before 2026-11-13 03:30 UTC would lose their body; dry run, nothing removed$/);
    expect(await rt.db.models.messageChunks.countDocuments()).toBe(4);

    const outcome = await jobs.tick(retentionJob);
    expect(outcome.status).toBe('ran');
    if (outcome.status !== 'ran') return;
    expect(outcome.report.rows).toEqual([
      { what: 'finished messages, body removed', count: '1' },
      { what: 'body chunks removed', count: '2' },
      { what: 'orphan chunks removed', count: '0' },
      { what: 'batch body documents removed', count: '0' },
    ]);
    expect(await rt.db.models.messageChunks.countDocuments({ messageId: old })).toBe(0);
    expect(await rt.db.models.messageChunks.countDocuments({ messageId: { $in: [recent, queued] } })).toBe(2);
    const kept = await rt.db.models.queuedMessages.findById(old).lean<{ bodyRemovedAt?: Date; recipients: { status: string }[] }>();
    expect(kept?.bodyRemovedAt).toBeInstanceOf(Date);
    expect(kept?.recipients[0]?.status).toBe('delivered');
    expect((await jobs.leases.get('retention'))?.lastRun).toMatchObject({ trigger: 'schedule', result: 'ok' });
  });
});
