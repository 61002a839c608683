// The return-path codec: round trips, the 64-character limit, and hostile addresses that must never verify.
import { describe, expect, it } from 'vitest';
import { decodeReturnPath, encodeReturnPath, encodeReturnPathLocalPart, MAX_RECIPIENT_INDEX } from '../../src/shared/return-path.ts';

const key = Buffer.from('a test key of thirty-two bytes!!');
const other = Buffer.from('another key, also thirty-two b!!');
const domain = 'rp.example.test';
const id = '65f0c0ffee00000000000001';

describe('return path codec', () => {
  it.each([0, 1, 35, 36, 99, 1295, MAX_RECIPIENT_INDEX])('round-trips recipient %i within 64 characters', (recipient) => {
    const address = encodeReturnPath(key, domain, { queueId: id, recipient });
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(decodeReturnPath(key, domain, address)).toEqual({ queueId: id, recipient });
  });

  it('survives a receiving system that folds the case of the address', () => {
    const address = encodeReturnPath(key, domain, { queueId: id, recipient: 7 });
    expect(decodeReturnPath(key, domain, address.toUpperCase())).toEqual({ queueId: id, recipient: 7 });
  });

  const good = encodeReturnPath(key, domain, { queueId: id, recipient: 3 });
  const [local] = good.split('@') as [string];
  const flipLast = local.slice(0, -1) + (local.endsWith('0') ? '1' : '0');
  it.each([
    ['another key', encodeReturnPath(other, domain, { queueId: id, recipient: 3 })],
    ['a flipped HMAC digit', `${flipLast}@${domain}`],
    ['another recipient under the same HMAC', good.replace('-3-', '-4-')],
    ['another message under the same HMAC', good.replace(id, id.slice(0, -1) + '2')],
    ['another domain', `${local}@evil.test`],
    ['a sub-domain of ours', `${local}@x.${domain}`],
    ['no domain', local],
    ['an empty string', ''],
    ['a leading zero in the index', good.replace('-3-', '-03-')],
    ['a short HMAC', `${local.slice(0, -1)}@${domain}`],
    ['a long HMAC', `${local}0@${domain}`],
    ['extra text before', `x${local}@${domain}`],
    ['a NUL byte', `${local}\0@${domain}`],
    ['a newline', `${local}\r\n@${domain}`],
    ['unicode look-alike digits', `${local.replace(/0/g, '٠')}@${domain}`],
    ['a huge address', `${'a'.repeat(100_000)}@${domain}`],
    ['two at signs', `${local}@${domain}@${domain}`.replace(`@${domain}@`, '@x@')],
    ['a quoted local part', `"${local}"@${domain}`],
  ])('refuses %s', (_name, address) => {
    expect(decodeReturnPath(key, domain, address)).toBeNull();
  });

  it.each([null, undefined, 42, {}, ['x']])('refuses a non-string %p without throwing', (value) => {
    expect(decodeReturnPath(key, domain, value)).toBeNull();
  });

  it.each([
    ['a short id', { queueId: 'abc', recipient: 0 }],
    ['a non-hex id', { queueId: 'z'.repeat(24), recipient: 0 }],
    ['a negative index', { queueId: id, recipient: -1 }],
    ['a fractional index', { queueId: id, recipient: 1.5 }],
    ['an index past the limit', { queueId: id, recipient: MAX_RECIPIENT_INDEX + 1 }],
  ])('will not encode %s', (_name, ref) => {
    expect(() => encodeReturnPathLocalPart(key, ref)).toThrow();
  });
});
