// The real gitleaks (installed by .ci/run with `go install`, at a pinned version, into .cache) finds a freshly
// created SMTP password with docs/secret-scanning/gitleaks.toml, and does not take a look-alike for one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/index.ts';
import { admin, newWorkspace, openTestDomain, type TestDomain } from '../helpers/domain.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, 'docs/secret-scanning/gitleaks.toml');
const PINNED = join(ROOT, '.cache/gitleaks-v8.30.1/gitleaks');

/** GITLEAKS_BIN (set by .ci/run), the pinned build under .cache, or one on PATH. */
function findGitleaks(): string | null {
  for (const candidate of [process.env.GITLEAKS_BIN, PINNED]) if (candidate && existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v gitleaks'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

const gitleaks = findGitleaks();
const inCi = /^(1|true)$/i.test(process.env.CI ?? '');
if (!gitleaks && !inCi) {
  console.warn('\n*** gitleaks is not installed: test/secret-scanning/gitleaks.test.ts is SKIPPED. Run .ci/run (go install) to get it. ***\n');
}

interface Finding {
  RuleID: string;
  Secret: string;
  File: string;
}

function scan(dir: string): { code: number; findings: Finding[] } {
  const report = join(dir, '..', `${Date.now()}-report.json`);
  const res = spawnSync(gitleaks!, ['dir', dir, '--config', CONFIG, '--report-format', 'json', '--report-path', report, '--no-banner', '--log-level', 'error'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const findings = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as Finding[]) : [];
  return { code: res.status ?? -1, findings };
}

describe('gitleaks and the password format', () => {
  it('gitleaks is installed where CI put it', () => {
    // In CI a missing gitleaks is a failure, never a silent pass.
    if (inCi) expect(gitleaks, 'gitleaks missing in CI: .ci/run installs it with go install').not.toBeNull();
  });

  describe.skipIf(!gitleaks)('scans', () => {
    let t: TestDomain;
    let work: string;
    beforeAll(async () => {
      t = await openTestDomain();
      work = mkdtempSync(join(tmpdir(), 'smtpdesk-gitleaks-'));
    });
    afterAll(async () => {
      rmSync(work, { recursive: true, force: true });
      await t?.close();
    });

    it('finds a freshly created password committed in a config file', async () => {
      const ws = await newWorkspace(t);
      const issued = await createAccount(t.ctx, admin, ws.id, 'billing-app');
      const dir = mkdtempSync(join(work, 'repo-'));
      writeFileSync(join(dir, 'app.env'), `SMTP_HOST=relay.example.com\nSMTP_USER=${issued.username}\nSMTP_PASS=${issued.password}\n`);
      const { code, findings } = scan(dir);
      expect(code).toBe(1); // gitleaks' "leaks found"
      expect(findings.filter((f) => f.RuleID === 'smtpdesk-smtp-password').map((f) => f.Secret)).toEqual([issued.password]);
    });

    it('finds nothing of ours in a look-alike without the prefix or of the wrong length', () => {
      const dir = mkdtempSync(join(work, 'repo-'));
      writeFileSync(join(dir, 'notes.txt'), 'id smtpd_short and smtpx_k7q2m9x4rtw598DSVY8IuBAG6JXv66hkM5m363GoyI095CUk\n');
      const { findings } = scan(dir);
      expect(findings.filter((f) => f.RuleID === 'smtpdesk-smtp-password')).toEqual([]);
    });
  });
});
