import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Each step spawns the real binary (about a second each, more on a loaded machine).
vi.setConfig({ testTimeout: 180_000 });
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

let uri: string;
let env: Record<string, string>;
beforeAll(() => {
  uri = testDatabaseUri();
  env = { MONGODB_URI: uri, SMTPDESK_WORKSPACE: '' };
});
afterAll(async () => {
  await dropTestDatabase(uri);
});

const cli = (...args: string[]) => runSmtpdesk(args, env);

describe('smtpdesk CLI', () => {
  it('bootstraps a workspace, manages accounts and shows usage, in tables and JSON', async () => {
    let r = await cli('workspace', 'create', 'acme', '--plan', '10k');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Created workspace "acme" on the 10k plan');

    r = await cli('accounts', 'create', 'production-transactional', '--json');
    expect(r.code).toBe(0);
    const created = r.json<{ username: string; password: string; name: string }>();
    expect(created.username).toMatch(/^smtp-/);
    expect(created.password.length).toBeGreaterThanOrEqual(22);

    r = await cli('accounts', 'create', 'staging checkout');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Password\s+\S{32}/);
    expect(r.stdout).toContain('shown only this once');

    r = await cli('accounts', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+USERNAME\s+STATUS\s+TOTAL SENT\s+THIS MONTH\s+DELIVERY\s+LAST USED\s+ACTIVITY\s+CREATED$/);
    expect(r.stdout).toMatch(/production-transactional\s+smtp-\w+\s+Active\s+0\s+0\s+—\s+never\s+Never used\s+\d{4}-\d{2}-\d{2}/);
    expect(r.stdout).not.toContain(created.password);

    r = await cli('accounts', 'disable', 'Production-Transactional', '--reason', 'maintenance', '--note', 'moving to new host');
    expect(r.code).toBe(0);
    r = await cli('accounts', 'show', 'production-transactional', '--json');
    expect(r.json<{ status: string; disabled: { reason: string; note: string } }>()).toMatchObject({
      status: 'disabled',
      disabled: { reason: 'maintenance', note: 'moving to new host' },
    });
    expect(r.stdout).not.toContain('passwordHash');
    // Who did it reads once, as in the audit log: "root (cli)", not "root (cli) (cli)".
    r = await cli('accounts', 'show', 'production-transactional');
    expect(r.stdout).toMatch(/^Created\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC by \S+ \(cli\)$/m);
    expect(r.stdout).toMatch(/^Disabled\s+.* by \S+ \(cli\): maintenance \(moving to new host\)$/m);

    r = await cli('accounts', 'enable', 'production-transactional');
    expect(r.code).toBe(0);

    r = await cli('accounts', 'rotate', 'production-transactional', '--json');
    const rotated = r.json<{ password: string }>();
    expect(rotated.password).not.toBe(created.password);

    r = await cli('usage', '--json');
    expect(r.json()).toMatchObject({ plan: '10k', monthlyQuota: 10000, slotsUsed: 2, slots: 5, emailsThisMonth: 0, nextPlan: '20k' });
    r = await cli('usage');
    expect(r.stdout).toMatch(/Account slots\s+▓+░+ 40%\s+2 of 5/);

    r = await cli('audit', '--json');
    const actions = r.json<{ action: string; actor: { source: string } }[]>().map((e) => e.action);
    expect(actions).toEqual(['account.rotated', 'account.enabled', 'account.disabled', 'account.created', 'account.created', 'workspace.created']);
  });

  it('deletes only with the exact name confirmed', async () => {
    let r = await cli('accounts', 'delete', 'staging checkout');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('To delete, run again with --confirm "staging checkout"');
    r = await cli('accounts', 'delete', 'staging checkout', '--confirm', 'Staging Checkout');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exact name');
    r = await cli('accounts', 'delete', 'staging checkout', '--confirm', 'staging checkout');
    expect(r.code).toBe(0);
    r = await cli('accounts', 'list', '--json');
    expect(r.json<{ name: string }[]>().map((a) => a.name)).toEqual(['production-transactional']);
  });

  it.each([
    [['accounts', 'create'], 2, /missing NAME/],
    [['accounts', 'frobnicate'], 2, /unknown command "accounts frobnicate"/],
    [['accounts'], 2, /^smtpdesk accounts: which one\?$/],
    [['accounts', 'list', '--idle', 'soon'], 2, /--idle takes a whole number/],
    [['accounts', 'list', '--bogus'], 2, /Unknown option '--bogus'/],
    [['accounts', 'show', 'nope'], 1, /No account named "nope"/],
    [['accounts', 'create', 'production-transactional'], 1, /already exists/],
    [['accounts', 'disable', 'production-transactional'], 2, /--reason is required/],
    [['workspace', 'set-plan', 'gigantic'], 1, /Unknown plan "gigantic"/],
    [['usage', '--workspace', 'nowhere'], 1, /No workspace "nowhere"/],
  ])('bad input %j exits %i with a one-line reason', async (args, code, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(code);
    expect(r.stderr.split('\n')[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  });

  it('--version prints the package version; a group without its subcommand lists the group', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = await cli('--version');
    expect([v.code, v.stdout.trim()]).toEqual([0, `smtpdesk ${pkg.version}`]);
    const g = await cli('queue');
    expect(g.code).toBe(2);
    expect(
      g.stderr
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s{2,}/)[0]),
    ).toEqual(['queue list', 'queue show ID', 'queue retry', 'queue purge', 'queue find RECIPIENT|MESSAGE-ID|QUEUE-ID', '']);
  });

  it('errors in --json mode are JSON too', async () => {
    const r = await cli('accounts', 'show', 'nope', '--json');
    expect(r.code).toBe(1);
    expect(r.json()).toEqual({ error: { code: 'ACCOUNT.NOT_FOUND', message: 'No account named "nope".' } });
  });

  it('without MONGODB_URI and without Go to build the embedded database: exit 69 and what to do, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-no-go-'));
    // FerretDB data in the data dir makes the choice of engine certain (no mongod lookup or download).
    mkdirSync(join(dir, 'data', 'ferretdb'), { recursive: true });
    const r = await runSmtpdesk(['accounts', 'list'], {
      MONGODB_URI: undefined,
      SMTPDESK_DATA_DIR: join(dir, 'data'),
      SMTPDESK_CACHE_DIR: join(dir, 'cache'),
      PATH: join(dir, 'empty-path'),
    });
    expect(r.code).toBe(69);
    expect(r.stderr.trim()).toMatch(
      /^smtpdesk: database unavailable: FerretDB v\S+ must be built with Go, but `go` was not found on PATH: install Go .* or set MONGODB_URI to use an existing MongoDB$/,
    );
  });

  it('a bad configuration is refused with every problem listed', async () => {
    const r = await runSmtpdesk(['usage'], { ...env, RELAY_MAX_RECIPIENTS: 'lots', MONGODB_URI: 'postgres://x', METRICS_BEARER_TOKEN: 'short' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('RELAY_MAX_RECIPIENTS');
    expect(r.stderr).toContain('MONGODB_URI: must start with mongodb://');
    expect(r.stderr).toContain('METRICS_BEARER_TOKEN: at least 16 characters');
  });
});
