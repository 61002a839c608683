// `smtpdesk domains …` and `smtpdesk suppressions …` run for real, and the worker refusing to start without
// SMTPDESK_SECRET_KEY once a domain has a key.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { runSmtpdesk } from '../helpers/cli.ts';
import { startTestDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';

vi.setConfig({ testTimeout: 180_000 });

const SECRET = 'q0kK1n7tqzJ3yG2b9r2m5oYxJp8nW6c4Vd1sLe0aUfI=';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let uri: string;
let env: Record<string, string>;
let dns: TestDnsServer;
beforeAll(async () => {
  uri = testDatabaseUri();
  dns = await startTestDnsServer();
  env = { MONGODB_URI: uri, SMTPDESK_WORKSPACE: '', SMTPDESK_SECRET_KEY: SECRET, DKIM_VERIFY_DNS_SERVERS: dns.address };
  const r = await runSmtpdesk(['workspace', 'create', 'acme', '--plan', '10k'], env);
  expect(r.code).toBe(0);
});
afterAll(async () => {
  await dns?.close();
  await dropTestDatabase(uri);
});

const cli = (...args: string[]) => runSmtpdesk(args, env);

describe('smtpdesk domains', () => {
  it('refuses to add a domain without SMTPDESK_SECRET_KEY, saying how to make one', async () => {
    const r = await runSmtpdesk(['domains', 'add', 'acme.test'], { ...env, SMTPDESK_SECRET_KEY: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SMTPDESK_SECRET_KEY is not set.*openssl rand -base64 32/);
    const bad = await runSmtpdesk(['domains', 'list'], { ...env, SMTPDESK_SECRET_KEY: 'too-short' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('SMTPDESK_SECRET_KEY: must be 32 bytes');
  });

  it('adds a domain and prints the exact TXT record to publish; lists, shows, verifies it against DNS and rotates its key', async () => {
    let r = await cli('domains', 'add', 'Acme.Test');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const selector = `sd${new Date().toISOString().slice(0, 7).replace('-', '')}`;
    expect(r.stdout).toContain(`Added acme.test with a new DKIM key (RSA 2048, selector ${selector})`);
    expect(r.stdout).toMatch(new RegExp(`^Name\\s+${selector}\\._domainkey\\.acme\\.test$`, 'm'));
    expect(r.stdout).toMatch(/^Value\s+v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/]+=*$/m);
    expect(r.stdout).toMatch(new RegExp(`^${selector}\\._domainkey\\.acme\\.test\\. IN TXT \\( "v=DKIM1; k=rsa; p=[^"]{237}" "[^"]+" \\)$`, 'm'));
    expect(r.stdout).not.toContain('PRIVATE');

    r = await cli('domains', 'add', 'acme.test');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The domain "acme.test" is registered already.');
    r = await cli('domains', 'add', 'not a domain');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not a domain name');

    r = await cli('domains', 'list');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^acme\\.test\\s+Pending DNS\\s+${selector}\\s`, 'm'));

    r = await cli('domains', 'show', 'acme.test', '--json');
    const shown = r.json<{ state: string; keys: { selector: string; state: string; record: { name: string; value: string } }[] }>();
    expect(shown.state).toBe('pending');
    expect(shown.keys).toHaveLength(1);
    expect(shown.keys[0]).toMatchObject({ selector, state: 'pending', record: { name: `${selector}._domainkey.acme.test` } });
    expect(r.stdout).not.toMatch(/sealed|PRIVATE/i);

    // Not published yet: verify says so and exits 1.
    r = await cli('domains', 'verify', 'acme.test');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✗ ${selector}._domainkey.acme.test: no TXT record at this name yet`);
    expect(r.stderr).toContain('no DKIM record of acme.test is published yet');
    // Published (in 255-character strings, as DNS serves it): it matches and the key becomes active.
    const value = shown.keys[0]!.record.value;
    dns.txt.set(`${selector}._domainkey.acme.test`, [value.match(/.{1,255}/g)!]);
    r = await cli('domains', 'verify', 'acme.test');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ ${selector}._domainkey.acme.test: published and matches`);
    expect(r.stdout).toContain(`Key ${selector} is active and signs from now on.`);
    expect((await cli('domains', 'list')).stdout).toMatch(new RegExp(`^acme\\.test\\s+Active\\s+${selector}\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC`, 'm'));

    r = await cli('domains', 'rotate-key', 'acme.test');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`New key ${selector}b for acme.test. Key ${selector} keeps signing (leave its record published) until the new one verifies.`);
    r = await cli('domains', 'show', 'acme.test', '--json');
    expect(r.json<{ state: string; keys: { selector: string; state: string }[] }>()).toMatchObject({
      state: 'rotating',
      keys: [expect.objectContaining({ selector, state: 'retiring' }), expect.objectContaining({ selector: `${selector}b`, state: 'pending' })],
    });

    r = await cli('audit', '--json');
    const actions = r.json<{ action: string; details?: { domain?: string } }[]>().map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['domain.added', 'domain.verified', 'domain.key_rotated']));
  });

  it('the worker refuses to start without SMTPDESK_SECRET_KEY while a domain has a key, in one line', async () => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts', '--role', 'worker'], {
      cwd: ROOT,
      env: { ...process.env, MONGODB_URI: uri, SMTPDESK_SECRET_KEY: '', LOG_LEVEL: 'warn', SMTPDESK_DATA_DIR: mkdtempSync(join(tmpdir(), 'smtpdesk-dkim-')), HTTP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'smtpdesk failed to start: worker cannot start: SMTPDESK_SECRET_KEY is not set, but sending domains with DKIM keys exist: set the key they were sealed with (see docs/dkim.md).',
    );
  });

  it('removes a domain', async () => {
    const r = await cli('domains', 'remove', 'acme.test');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Removed acme.test.');
    expect((await cli('domains', 'list')).stdout).toContain('No sending domains yet.');
  });
});

describe('smtpdesk suppressions', () => {
  it('adds, lists and removes an address, each change in the audit log', async () => {
    let r = await cli('suppressions', 'add', '<Jo@Example.test>', '--note', 'asked to stop');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<Jo@Example.test> is on the suppression list');
    r = await cli('suppressions', 'list');
    expect(r.stdout).toMatch(/^ADDRESS\s+SINCE\s+SOURCE\s+ANSWER$/m);
    expect(r.stdout).toMatch(/^Jo@Example\.test\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\s+added by \S+ \(cli\)\s+asked to stop$/m);
    r = await cli('suppressions', 'remove', 'jo@example.test');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<Jo@Example.test> is off the suppression list');
    r = await cli('suppressions', 'remove', 'jo@example.test');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<jo@example.test> is not on the suppression list.');
    expect((await cli('suppressions', 'list')).stdout).toContain('The suppression list is empty.');
    const actions = (await cli('audit', '--json')).json<{ action: string }[]>().map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('suppression.'))).toEqual(['suppression.removed', 'suppression.added']);
  });
});
