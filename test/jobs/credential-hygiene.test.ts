// The credential-hygiene job end to end: a real Runtime and database, the fake Slack Web API recording the
// digest as the alert channel shows it. One digest lists old passwords, unused and never-used accounts with
// Rotate and Disable; the next run posts nothing (the digest once, not twice); a new finding is posted alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount,
  DAY_MS,
  recordAcceptedMessage,
  rotateAccountPassword,
  setCredentialPolicy,
  updateWorkspaceSettings,
  type Account,
  type Actor,
} from '../../src/domain/index.ts';
import { credentialHygieneJob } from '../../src/jobs/credential-hygiene.ts';
import { ACTION } from '../../src/slack/ids.ts';
import { LEAK_BLOCK } from '../../src/slack/blocks/leak-alerts.ts';
import { alertPosts, jobClock, jobsOn, type JobClock, type JobsUnderTest } from '../helpers/jobs.ts';
import { ALERT_CHANNEL, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

type AnyBlock = { type: string; block_id?: string; elements?: { type: string; action_id?: string; value?: string }[] };

const operator: Actor = { source: 'cli', id: 'op', name: 'op (cli)', roles: ['admin'] };
const now = new Date('2026-11-20T09:15:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);

let h: SlackHarness;
let clock: JobClock;
let jobs: JobsUnderTest;
let workspaceId: string;

beforeAll(async () => {
  h = await startSlackHarness({ env: { LOG_LEVEL: 'silent' } });
  clock = jobClock(now);
  jobs = jobsOn(h.rt, clock);
  workspaceId = await h.workspaceId();
  await updateWorkspaceSettings(jobs.deps.ctx, operator, workspaceId, { alertChannel: ALERT_CHANNEL });
  await setCredentialPolicy(jobs.deps.ctx, operator, workspaceId, { maxPasswordAgeDays: 90, unusedAfterDays: 45 });
});
afterAll(async () => {
  await h?.close();
});

async function accountAt(name: string, createdDaysAgo: number, lastSendDaysAgo?: number): Promise<Account> {
  clock.set(daysAgo(createdDaysAgo));
  const { account } = await createAccount(jobs.deps.ctx, operator, workspaceId, name);
  if (lastSendDaysAgo !== undefined) await recordAcceptedMessage(jobs.deps.ctx, account, 1, daysAgo(lastSendDaysAgo));
  clock.set(now);
  return account;
}

const digests = (): RecordedCall[] => alertPosts(h.api, 'Credential hygiene in');
const actionsOf = (post: RecordedCall, a: Account) => (post.args.blocks as AnyBlock[]).find((b) => b.block_id === `${LEAK_BLOCK.hygieneActionsPrefix}${a.id}`)?.elements ?? [];

describe('credential-hygiene digest', () => {
  it('posts the digest once, not twice; a later finding is posted alone', async () => {
    const oldPassword = await accountAt('old-password', 120, 1);
    const unused = await accountAt('unused-app', 60, 50);
    const never = await accountAt('never-used', 10);
    await accountAt('healthy-app', 10, 1);

    // --dry-run finds and posts nothing.
    const dry = await credentialHygieneJob.run(jobs.deps, { dryRun: true, workspaceId });
    expect(dry.rows.map((r) => `${r.account}:${r.finding}`).sort()).toEqual(['never-used:never used', 'old-password:password age', 'unused-app:unused']);
    expect(digests()).toHaveLength(0);

    await jobs.tick(credentialHygieneJob);
    expect(digests()).toHaveLength(1);
    const post = digests()[0]!;
    expect(post.args.channel).toBe(ALERT_CHANNEL);
    const text = textOf(post.args);
    expect(text).toContain('password 120 days old (limit 90)');
    expect(text).toContain('not used for 50 days (limit 45)');
    expect(text).toContain('never used since it was created 10 days ago');
    expect(text).not.toContain('healthy-app');
    for (const a of [oldPassword, unused, never]) {
      expect(actionsOf(post, a).map((b) => [b.action_id, b.value])).toEqual([
        [ACTION.rotate, a.name],
        [ACTION.disable, a.name],
      ]);
    }

    // The next day: the same findings, no second digest.
    clock.set(new Date(now.getTime() + DAY_MS));
    await jobs.tick(credentialHygieneJob);
    expect(digests()).toHaveLength(1);

    // A rotate ends the old-password finding; another account crosses the unused limit: only that is posted.
    await rotateAccountPassword(jobs.deps.ctx, operator, workspaceId, 'old-password');
    await recordAcceptedMessage(jobs.deps.ctx, (await jobs.deps.ctx.accounts.findById(never.id))!, 1, daysAgo(0));
    const later = await accountAt('later-idle', 70, 44);
    clock.set(new Date(now.getTime() + 2 * DAY_MS));
    await jobs.tick(credentialHygieneJob);
    expect(digests()).toHaveLength(2);
    const second = textOf(digests()[1]!.args);
    expect(second).toContain('later-idle');
    expect(second).not.toContain('unused-app');
    expect(second).not.toContain('old-password');
    expect(actionsOf(digests()[1]!, later)).toHaveLength(2);
  });
});
