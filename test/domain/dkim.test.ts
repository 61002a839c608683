// DKIM rules in the domain: the sealed key, selectors, which domain and key sign, verify and rotation states.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addSendingDomain,
  createSecretBox,
  dkimTags,
  listSendingDomains,
  nextSelector,
  normalizeDomainName,
  openPrivateKey,
  parseSecretKey,
  removeSendingDomain,
  rotateSendingDomainKey,
  signingDomainCandidates,
  signingKey,
  verifySendingDomain,
  type TxtResolver,
} from '../../src/domain/index.ts';
import { admin, member, newWorkspace, openTestDomain, type TestDomain } from '../helpers/domain.ts';

const KEY = Buffer.alloc(32, 7);
let t: TestDomain;
beforeAll(async () => {
  t = await openTestDomain();
  t.ctx.secrets = createSecretBox(KEY);
});
afterAll(async () => {
  await t?.close();
});

describe('the secret box (AES-256-GCM)', () => {
  const box = createSecretBox(KEY);
  it('opens what it sealed, for the same context only, and never with another key', () => {
    const sealed = box.seal('-----BEGIN PRIVATE KEY-----x', 'dkim:acme.test:sd1');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('PRIVATE');
    expect(box.open(sealed, 'dkim:acme.test:sd1')).toBe('-----BEGIN PRIVATE KEY-----x');
    expect(() => box.open(sealed, 'dkim:evil.test:sd1')).toThrow();
    expect(() => createSecretBox(Buffer.alloc(32, 8)).open(sealed, 'dkim:acme.test:sd1')).toThrow();
    const [v, iv, tag, ct] = sealed.split(':');
    const flipped = Buffer.from(ct!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([v, iv, tag, flipped.toString('base64')].join(':'), 'dkim:acme.test:sd1')).toThrow();
  });

  it.each([
    ['64 hex digits', 'ab'.repeat(32), true],
    ['base64 of 32 bytes', Buffer.alloc(32, 1).toString('base64'), true],
    ['too short', 'c2hvcnQ=', false],
    ['a passphrase', 'correct horse battery staple', false],
  ])('SMTPDESK_SECRET_KEY as %s: usable %s', (_what, value, ok) => {
    expect(parseSecretKey(value) !== null).toBe(ok);
  });
});

describe('names and selectors', () => {
  it('normalizes domains and refuses what is not one', () => {
    expect(normalizeDomainName(' Mail.ACME.test. ')).toBe('mail.acme.test');
    expect(normalizeDomainName('exämple.test')).toBe('xn--exmple-cua.test');
    for (const bad of ['', 'localhost', 'acme..test', '-acme.test', 'acme test', '1.2.3.4']) expect(() => normalizeDomainName(bad)).toThrow(/not a domain name/);
  });
  it('dates selectors and adds a letter for a second key in a month', () => {
    const d = new Date('2026-12-03T00:00:00Z');
    expect(nextSelector(d, [])).toBe('sd202612');
    expect(nextSelector(d, ['sd202612'])).toBe('sd202612b');
    expect(nextSelector(d, ['sd202612', 'sd202612b'])).toBe('sd202612c');
  });
  it('a parent domain signs for its subdomains, never a bare TLD', () => {
    expect(signingDomainCandidates('a.mail.acme.test')).toEqual(['a.mail.acme.test', 'mail.acme.test', 'acme.test']);
    expect(signingDomainCandidates('test')).toEqual([]);
  });
  it('reads DKIM tags with folded whitespace removed', () => {
    expect(dkimTags('v=DKIM1; k=rsa;\n p=AB CD\tEF').get('p')).toBe('ABCDEF');
  });
});

describe('sending domains', () => {
  it('adds a domain with a 2048-bit key sealed at rest; members may list but not add', async () => {
    const ws = await newWorkspace(t);
    await expect(addSendingDomain(t.ctx, member, ws.id, 'members.test')).rejects.toMatchObject({ code: 'PERMISSION.DENIED' });
    const { domain, record } = await addSendingDomain(t.ctx, admin, ws.id, 'keys.test');
    expect(domain.state).toBe('pending');
    const stored = (await t.ctx.domains.findByName('keys.test'))!;
    const pem = openPrivateKey(t.ctx.secrets!, 'keys.test', stored.keys[0]!);
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const priv = createPrivateKey(pem);
    expect(priv.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(priv).export({ type: 'spki', format: 'der' }).toString('base64')).toBe(record.value.split('p=')[1]);
    expect((await listSendingDomains(t.ctx, member, ws.id)).map((d) => d.domain)).toEqual(['keys.test']);
    // Another workspace cannot see, take or remove it.
    const other = await newWorkspace(t);
    await expect(addSendingDomain(t.ctx, admin, other.id, 'keys.test')).rejects.toMatchObject({ code: 'DOMAIN.EXISTS' });
    await expect(removeSendingDomain(t.ctx, admin, other.id, 'keys.test')).rejects.toMatchObject({ code: 'DOMAIN.NOT_FOUND' });
    expect(t.events.filter((e) => e.type === 'domain.added').at(-1)?.details).toMatchObject({ domain: 'keys.test' });
  });

  it('without SMTPDESK_SECRET_KEY no key is made', async () => {
    const ws = await newWorkspace(t);
    const secrets = t.ctx.secrets;
    delete t.ctx.secrets;
    try {
      await expect(addSendingDomain(t.ctx, admin, ws.id, 'nokey.test')).rejects.toMatchObject({ code: 'DKIM.SECRET_KEY_MISSING' });
    } finally {
      t.ctx.secrets = secrets;
    }
  });

  it('verify: a wrong or missing record changes nothing; the matching one activates; rotation retires the old key only then', async () => {
    const ws = await newWorkspace(t);
    const { record } = await addSendingDomain(t.ctx, admin, ws.id, 'rot.test');
    const dns = new Map<string, string[][]>();
    const resolve: TxtResolver = async (name) => {
      const r = dns.get(name);
      if (!r) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return r;
    };
    let v = await verifySendingDomain(t.ctx, admin, ws.id, 'rot.test', resolve);
    expect(v.checks[0]).toMatchObject({ matches: false, found: null, problem: 'no TXT record at this name yet' });
    dns.set(record.name, [['v=spf1 -all'], ['v=DKIM1; k=rsa; p=MIIBwrong']]);
    v = await verifySendingDomain(t.ctx, admin, ws.id, 'rot.test', resolve);
    expect(v.checks[0]).toMatchObject({ matches: false, found: 'v=DKIM1; k=rsa; p=MIIBwrong' });
    expect(v.domain.state).toBe('pending');
    // Split in 255-byte strings, as DNS serves a long record.
    dns.set(record.name, [record.value.match(/.{1,255}/g)!]);
    v = await verifySendingDomain(t.ctx, admin, ws.id, 'rot.test', resolve);
    expect(v.activated).toEqual([record.name.split('.')[0]]);
    expect(v.domain.state).toBe('active');

    const rotated = await rotateSendingDomainKey(t.ctx, admin, ws.id, 'rot.test');
    const d1 = (await t.ctx.domains.findByName('rot.test'))!;
    expect(signingKey(d1)?.selector).toBe(record.name.split('.')[0]);
    expect(rotated.domain.state).toBe('rotating');
    // A second rotation before the first verified replaces the pending key; the retiring one stays.
    const again = await rotateSendingDomainKey(t.ctx, admin, ws.id, 'rot.test');
    expect(again.domain.keys.map((k) => k.state)).toEqual(['retiring', 'pending']);
    dns.set(again.record.name, [[again.record.value]]);
    v = await verifySendingDomain(t.ctx, admin, ws.id, 'rot.test', resolve);
    expect(v.domain.keys.map((k) => [k.selector, k.state])).toEqual([[again.record.name.split('.')[0], 'active']]);
    expect(signingKey((await t.ctx.domains.findByName('rot.test'))!)?.selector).toBe(again.record.name.split('.')[0]);
  });
});
