// The jobs role on node-cron, as `npm start` (or `--role jobs`) runs it: two instances on one database,
// a schedule of every second, each tick run by exactly one of them.
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { jobsRole } from '../../src/jobs/role.ts';
import { createAlertPoster } from '../../src/slack/job-alert-poster.ts';
import { createLogger } from '../../src/log.ts';
import { startApp } from '../../src/main.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';

// The jobs role as the composition root wires it (src/roles.ts): alerts through Slack.
const startJobsRole = jobsRole((rt) => createAlertPoster(rt.config, rt.log));

const uri = testDatabaseUri();
const env = {
  MONGODB_URI: uri,
  BCRYPT_COST: '4',
  LOG_LEVEL: 'info',
  SMTPDESK_ROLES: 'jobs',
  // node-cron takes a seconds field: every second, so the test sees several ticks quickly.
  JOB_PLAN_LIMITS_SCHEDULE: '* * * * * *',
  JOB_IDLE_ACCOUNTS_SCHEDULE: '0 9 1 1 *',
  JOB_RETENTION_SCHEDULE: '0 3 1 1 *',
  JOB_SURGE_SCHEDULE: '0 4 1 1 *',
  JOB_CREDENTIAL_HYGIENE_SCHEDULE: '0 5 1 1 *',
  JOB_REPUTATION_SCHEDULE: '0 6 1 1 *',
  JOBS_TIMEZONE: 'Europe/Paris',
};

afterAll(async () => {
  await dropTestDatabase(uri);
});

async function instance(): Promise<{ rt: Runtime; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const rt = await openAppRuntime(loadConfig(env), { log: createLogger({ level: 'info', destination }), quiet: true });
  return { rt, lines };
}

describe('jobs role', () => {
  it('is started by the composition root for --role jobs, with its schedules and time zone', async () => {
    const app = await startApp(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
    try {
      expect(app.roles.map((r) => r.name)).toEqual(['jobs']);
      expect(app.roles[0]!.handle.description).toBe(
        'jobs on schedule (Europe/Paris): idle-accounts "0 9 1 1 *", plan-limits "* * * * * *", retention "0 3 1 1 *", surge "0 4 1 1 *", credential-hygiene "0 5 1 1 *", reputation "0 6 1 1 *"',
      );
    } finally {
      await app.stop();
    }
  });

  it('two instances on one database run each tick once between them', async () => {
    const a = await instance();
    const b = await instance();
    const roleA = await startJobsRole(a.rt);
    const roleB = await startJobsRole(b.rt);
    const finishedTicks = () => [...a.lines, ...b.lines].filter((l) => l.code === 'JOB_FINISHED' && l.job === 'plan-limits').map((l) => String(l.tick));
    try {
      const until = Date.now() + 15_000;
      while (new Set(finishedTicks()).size < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await roleA!.stop();
      await roleB!.stop();
    }
    const ticks = finishedTicks();
    expect(new Set(ticks).size).toBeGreaterThanOrEqual(4);
    // No tick ran twice, though both instances fired on every one of them.
    expect(ticks.length).toBe(new Set(ticks).size);
    const counts = async (rt: Runtime) => {
      const values = (await rt.metrics.jobRuns.get()).values.filter((v) => v.labels.job === 'plan-limits');
      return Object.fromEntries(values.map((v) => [String(v.labels.result), v.value])) as Record<string, number>;
    };
    const [ca, cb] = [await counts(a.rt), await counts(b.rt)];
    expect((ca.ok ?? 0) + (cb.ok ?? 0)).toBe(ticks.length);
    // Both fired: the loser of each tick counted it as skipped.
    expect((ca.skipped ?? 0) + (cb.skipped ?? 0)).toBeGreaterThan(0);
    await a.rt.close();
    await b.rt.close();
  });
});
