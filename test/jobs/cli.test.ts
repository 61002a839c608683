// `smtpdesk jobs list` and `smtpdesk jobs run`, run as a user would (the real binary, a real database).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createWorkspace, recordAcceptedMessage } from '../../src/domain/index.ts';
import { connectDatabase } from '../../src/store/connection.ts';
import { createDomainContext } from '../../src/store/index.ts';
import { admin } from '../helpers/domain.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

let uri: string;
let env: Record<string, string>;
const cli = (...args: string[]) => runSmtpdesk(args, env);

beforeAll(async () => {
  uri = testDatabaseUri();
  env = { MONGODB_URI: uri, SMTPDESK_WORKSPACE: '' };
  // The data, made through the domain (quicker than one CLI process each): four accounts created 90 days
  // ago, one of them used yesterday.
  const db = await connectDatabase(uri);
  const day = 86_400_000;
  let now = new Date(Date.now() - 90 * day);
  const ctx = createDomainContext(db, { bcryptCost: 4, clock: () => now });
  const ws = await createWorkspace(ctx, admin, { name: 'acme', planId: '10k', defaultPlan: '10k' });
  for (const name of ['staging-checkout', 'staging-billing', 'staging-alerts', 'legacy-crm']) {
    const { account } = await createAccount(ctx, admin, ws.id, name);
    if (name === 'staging-checkout') await recordAcceptedMessage(ctx, account, 42, new Date(Date.now() - day));
  }
  now = new Date();
  await db.close();
});
afterAll(async () => {
  await dropTestDatabase(uri);
});

describe('smtpdesk jobs', () => {
  it('lists the jobs with their schedules; none has run yet', async () => {
    const r = await cli('jobs', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^JOB\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+RESULT\s+SUMMARY$/);
    expect(r.stdout).toMatch(/idle-accounts\s+0 9 \* \* \* \(UTC\)\s+\d{4}-\d{2}-\d{2} 09:00 UTC\s+—\s+—/);
    expect(r.stdout).toMatch(/plan-limits\s+0 \* \* \* \* \(UTC\)\s+\d{4}-\d{2}-\d{2} \d{2}:00 UTC\s+—/);
  });

  it('a dry run prints what it found in a table and changes nothing', async () => {
    const r = await cli('jobs', 'run', 'idle-accounts', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^WORKSPACE\s+ACCOUNT\s+STATUS\s+LAST USED\s+IDLE DAYS\s+TOTAL SENT\s+FLAG\s+ALERT$/);
    expect(r.stdout).toMatch(/acme\s+legacy-crm\s+active\s+never \(created \d{4}-\d{2}-\d{2}\)\s+90\s+0\s+new\s+would alert/);
    expect(r.stdout).not.toContain('staging-checkout');
    expect(r.stdout).toContain('idle-accounts: 3 idle accounts (3 new) in 1 workspace(s); dry run, nothing posted or stored');
    // With a longer threshold nothing is idle, and the summary says so plainly.
    const none = await runSmtpdesk(['jobs', 'run', 'idle-accounts', '--dry-run'], { ...env, IDLE_AFTER_DAYS: '120' });
    expect(none.stdout.trim().split('\n').at(-1)).toBe('idle-accounts: no idle accounts; dry run, nothing posted or stored');

    const plan = await cli('jobs', 'run', 'plan-limits', '--dry-run', '--json');
    expect(plan.code).toBe(0);
    const report = plan.json<{
      dryRun: boolean;
      details: {
        workspaces: { workspace: string; flags: string[]; action: string; remedies: { consolidation: { key: string; accounts: string[] }[]; nextPlan: { id: string } } }[];
      };
    }>();
    expect(report.dryRun).toBe(true);
    expect(report.details.workspaces[0]).toMatchObject({
      workspace: 'acme',
      flags: ['slots:near'],
      action: 'would alert',
      remedies: { consolidation: [{ key: 'staging', accounts: ['staging-alerts', 'staging-billing', 'staging-checkout'] }], nextPlan: { id: '20k' } },
    });

    // Nothing stored: a real run still sees every account as new.
    const real = await cli('jobs', 'run', 'idle-accounts', '--json');
    expect(real.code, real.stderr).toBe(0);
    const out = real.json<{ dryRun: boolean; details: { workspaces: { action: string; idle: { name: string; new: boolean }[] }[] } }>();
    expect(out.dryRun).toBe(false);
    expect(out.details.workspaces[0]!.idle.filter((a) => a.new)).toHaveLength(3);
    // No Slack token in this process and no alert channel: the alert waits, stored as pending.
    expect(out.details.workspaces[0]!.action).toBe('pending: no alert channel');
  });

  it('a second real run finds nothing new; jobs list shows the last run', async () => {
    const r = await cli('jobs', 'run', 'idle-accounts');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/acme\s+legacy-crm\s+active\s+.*\s+flagged\s+pending: no alert channel/);
    expect(r.stdout).toContain('3 idle accounts (0 new)');
    const list = await cli('jobs', 'list', '--json');
    const jobs = list.json<{ name: string; lastRun: { result: string; trigger: string; summary: string } | null }[]>();
    expect(jobs.find((j) => j.name === 'idle-accounts')?.lastRun).toMatchObject({ result: 'ok', trigger: 'manual', summary: expect.stringContaining('3 idle accounts') });
    expect(jobs.find((j) => j.name === 'plan-limits')?.lastRun).toBeNull();
  });

  it('an unknown job is a usage error naming the jobs there are', async () => {
    const r = await cli('jobs', 'run', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no job named "nope"; jobs: idle-accounts, plan-limits, retention');
  });
});
