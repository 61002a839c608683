// The CLI's leaked-credential commands, run as a user would (the real binary): allowed networks, a leak reported
// on standard input, the credential report as a table, JSON and CSV, and the workspace's credential policy.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { credentialReportCsv, csvCell, maskToken } from '../../src/cli/commands/account-credentials.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

vi.setConfig({ testTimeout: 180_000 });

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

describe('smtpdesk leaked-credential commands', () => {
  it('allowed networks, report-leak from stdin, the credential report and the credential policy', async () => {
    expect((await cli('workspace', 'create', 'acme')).code).toBe(0);
    const created = (await cli('accounts', 'create', 'billing', '--json')).json<{ username: string; password: string }>();
    expect(created.password).toMatch(/^smtpd_/);

    // Allowed networks: normalised, shown, refused when not a network, cleared with "".
    let r = await cli('accounts', 'set', 'billing', '--allowed-ips', '203.0.113.9/24, 2001:db8::/32', '--json');
    expect(r.code).toBe(0);
    expect(r.json<{ allowedNetworks: string[] }>().allowedNetworks).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    r = await cli('accounts', 'show', 'billing');
    expect(r.stdout).toMatch(/Allowed networks\s+203\.0\.113\.0\/24, 2001:db8::\/32/);
    r = await cli('accounts', 'set', 'billing', '--allowed-ips', '203.0.113.0/33');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"203.0.113.0/33" is not a network');
    r = await cli('accounts', 'set', 'billing', '--allowed-ips', '', '--json');
    expect(r.json<{ allowedNetworks: string[] }>().allowedNetworks).toEqual([]);

    // A leak reported on stdin; an argument is refused (shell history).
    r = await cli('accounts', 'report-leak', created.password);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('standard input');
    r = await runSmtpdesk(['accounts', 'report-leak', '--url', 'https://paste.example/x', '--source', 'paste', '--json'], env, 30_000, {
      stdin: `${created.password}\nsmtpd_notapassword\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(created.password);
    expect(r.json()).toEqual([
      { token: maskToken(created.password), label: 'true_positive', workspace: 'acme', account: 'billing', username: created.username, policy: 'disable', action: 'disabled' },
      { token: maskToken('smtpd_notapassword'), label: 'false_positive', reason: 'format' },
    ]);
    r = await cli('accounts', 'enable', 'billing');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rotate it before enabling');
    r = await cli('accounts', 'show', 'billing');
    expect(r.stdout).toMatch(/Password leaked\s+.*paste at https:\/\/paste\.example\/x/);

    // The credential report.
    r = await cli('accounts', 'report', '--json');
    expect(r.json<{ name: string; status: string; passwordAgeDays: number; lastRotatedAt: string | null; passwordLeakedAt: string | null }[]>()).toEqual([
      expect.objectContaining({ name: 'billing', status: 'disabled', passwordAgeDays: 0, lastRotatedAt: null, passwordLeakedAt: expect.any(String) }),
    ]);
    r = await cli('accounts', 'report', '--csv');
    expect(r.stdout.split('\r\n')[0]).toBe(
      'name,username,status,createdAt,passwordAgeDays,lastRotatedAt,lastUsedAt,lastClientAddress,allowedSenders,allowedNetworks,passwordLeakedAt',
    );
    expect(r.stdout.split('\r\n')[1]).toMatch(/^billing,smtp-[a-z2-9]{10},disabled,/);
    r = await cli('accounts', 'report');
    expect(r.stdout).toMatch(/NAME\s+STATUS\s+CREATED\s+PASSWORD AGE\s+LAST ROTATED\s+LAST USED\s+LAST CLIENT\s+SENDERS\s+NETWORKS/);
    expect(r.stdout).toContain('(leaked)');

    // The workspace's credential policy.
    r = await cli('workspace', 'set', '--on-leak', 'rotate', '--max-password-age', '90d', '--unused-after', '45d', '--json');
    expect(r.code).toBe(0);
    expect(r.json<{ credentialPolicy: unknown }>().credentialPolicy).toEqual({ onLeak: 'rotate', maxPasswordAgeDays: 90, unusedAfterDays: 45 });
    r = await cli('workspace', 'set', '--on-leak', 'ignore');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--on-leak is one of: disable, rotate');
  });
});

describe('CSV cells', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['line\nbreak', '"line\nbreak"'],
  ])('%j -> %j', (input, out) => {
    expect(csvCell(input)).toBe(out);
  });

  it('an empty report is just the header', () => {
    expect(credentialReportCsv([])).toBe(
      'name,username,status,createdAt,passwordAgeDays,lastRotatedAt,lastUsedAt,lastClientAddress,allowedSenders,allowedNetworks,passwordLeakedAt\r\n',
    );
  });
});
