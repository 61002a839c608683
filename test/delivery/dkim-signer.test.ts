// The worker's signer: keys through a cache (no database round trip per message), the From: domain as written
// in real headers, and signing only with what the message may use.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, sealContext, type SendingDomain } from '../../src/domain/index.ts';
import { createDkimSigner, headerFromDomain } from '../../src/delivery/dkim-signer.ts';
import { createLogger } from '../../src/log.ts';
import { captureLogs } from '../helpers/logs.ts';

const box = createSecretBox(Buffer.alloc(32, 3));
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'der' },
});
const domain = (name: string, workspaceId = 'w1'): SendingDomain => ({
  domain: name,
  workspaceId,
  createdAt: new Date(),
  createdBy: 'test',
  keys: [{ selector: 'sd202612', state: 'active', publicKey: 'x', sealedPrivateKey: box.seal(privateKey, sealContext(name, 'sd202612')), createdAt: new Date() }],
});

function signer(domains: SendingDomain[], opts: { fail?: boolean | (() => boolean); secrets?: boolean } = {}) {
  const reads: string[][] = [];
  let clock = 0;
  const logs = captureLogs();
  const s = createDkimSigner({
    domains: {
      async findByNames(names) {
        reads.push([...names]);
        if (typeof opts.fail === 'function' ? opts.fail() : opts.fail) throw new Error('database down');
        return domains.filter((d) => names.includes(d.domain));
      },
    },
    ...(opts.secrets === false ? {} : { secrets: box }),
    ttlMs: 30_000,
    log: createLogger({ level: 'info', destination: logs.stream }),
    now: () => clock,
  });
  return { s, reads, logs: logs.lines, tick: (ms: number) => (clock += ms) };
}

const msg = (from: string) => Buffer.from(`From: ${from}\r\nTo: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n`);
const signedBy = (raw: Buffer) => /^DKIM-Signature:.*?d=([^;]+);/ims.exec(raw.toString())?.[1];

describe('dkim signer', () => {
  it('reads keys once per domain per TTL however many messages go out, including for domains without a key', async () => {
    const { s, reads, tick } = signer([domain('acme.test')]);
    const out = await Promise.all(Array.from({ length: 50 }, () => s.sign({ workspaceId: 'w1' }, msg('App <app@mail.acme.test>'))));
    expect(out.every((o) => signedBy(o) === 'acme.test')).toBe(true);
    for (let i = 0; i < 20; i++) expect(signedBy(await s.sign({ workspaceId: 'w1' }, msg('x@nokey.test')))).toBeUndefined();
    expect(reads).toEqual([['mail.acme.test', 'acme.test'], ['nokey.test']]);
    tick(30_001);
    await s.sign({ workspaceId: 'w1' }, msg('app@acme.test'));
    expect(reads).toHaveLength(3);
  });

  it('keeps signing with the key it has when the store does not answer past the TTL, and reads again at the next message', async () => {
    let down = false;
    const { s, reads, tick } = signer([domain('acme.test')], { fail: () => down });
    expect(signedBy(await s.sign({ workspaceId: 'w1' }, msg('app@acme.test')))).toBe('acme.test');
    down = true;
    tick(30_001);
    expect(signedBy(await s.sign({ workspaceId: 'w1' }, msg('app@acme.test')))).toBe('acme.test');
    expect(signedBy(await s.sign({ workspaceId: 'w1' }, msg('app@acme.test')))).toBe('acme.test');
    expect(reads).toHaveLength(3);
    down = false;
    await s.sign({ workspaceId: 'w1' }, msg('app@acme.test'));
    await s.sign({ workspaceId: 'w1' }, msg('app@acme.test'));
    expect(reads).toHaveLength(4);
  });

  it("signs only with a domain of the message's workspace, except for the worker's own bounces", async () => {
    const { s } = signer([domain('acme.test', 'w1')]);
    expect(signedBy(await s.sign({ workspaceId: 'w2' }, msg('ceo@acme.test')))).toBeUndefined();
    expect(signedBy(await s.sign({ workspaceId: 'w2', kind: 'bounce' }, msg('MAILER-DAEMON@acme.test')))).toBe('acme.test');
  });

  it('sends unsigned, and says why, when the key cannot be opened or the keys cannot be read', async () => {
    const noKey = signer([domain('acme.test')], { secrets: false });
    expect(signedBy(await noKey.s.sign({ workspaceId: 'w1' }, msg('a@acme.test')))).toBeUndefined();
    expect(noKey.logs.find((l) => l.code === 'DKIM_KEY_UNAVAILABLE')).toMatchObject({ domain: 'acme.test', reason: 'SMTPDESK_SECRET_KEY is not set' });
    const down = signer([], { fail: true });
    expect(signedBy(await down.s.sign({ workspaceId: 'w1' }, msg('a@acme.test')))).toBeUndefined();
    expect(down.logs.some((l) => l.code === 'DKIM_LOOKUP_FAILED')).toBe(true);
    expect(JSON.stringify([...noKey.logs, ...down.logs])).not.toContain('PRIVATE KEY');
  });

  it.each([
    ['From: App <app@Acme.Test>', 'acme.test'],
    ['From: "Doe, Jane" <jane@acme.test>', 'acme.test'],
    ['From: jane@acme.test (Jane)', 'acme.test'],
    ['From:\r\n  Jane <jane@mail.acme.test>', 'mail.acme.test'],
    ['from: jo@exämple.test', 'xn--exmple-cua.test'],
    ['Sender: x@acme.test', undefined],
    ['From: undisclosed', undefined],
  ])('header %j -> %s', (header, expected) => {
    expect(headerFromDomain(Buffer.from(`${header}\r\nSubject: x\r\n\r\nFrom: body@not.this\r\n`))).toBe(expected);
  });
});
