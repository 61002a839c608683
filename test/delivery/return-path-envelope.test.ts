// Which envelope the worker sends with: unchanged without RETURN_PATH_DOMAIN, one signed return path per
// recipient with it, and never for our own bounce notices or null-sender mail.
import { describe, expect, it } from 'vitest';
import { outboundEnvelopes } from '../../src/delivery/return-path-envelope.ts';
import { decodeReturnPath } from '../../src/shared/return-path.ts';

const key = Buffer.from('a test key of thirty-two bytes!!');
const rp = { domain: 'rp.example.test', key };
const msg = { id: '65f0c0ffee00000000000001', from: 'app@sender.test', kind: 'message' as const, recipients: [{ address: 'a@x.test' }, { address: 'b@y.test' }] };

describe('outbound envelopes', () => {
  it('keeps the application sender and one transaction without a return-path domain', () => {
    expect(outboundEnvelopes(msg, ['a@x.test', 'b@y.test'], undefined)).toEqual([{ from: 'app@sender.test', to: ['a@x.test', 'b@y.test'] }]);
  });
  it('gives each recipient its own signed return path', () => {
    const envs = outboundEnvelopes(msg, ['b@y.test'], rp);
    expect(envs).toHaveLength(1);
    expect(envs[0]!.to).toEqual(['b@y.test']);
    expect(decodeReturnPath(key, rp.domain, envs[0]!.from)).toEqual({ queueId: msg.id, recipient: 1 });
  });
  it.each([
    ['a bounce notice', { ...msg, kind: 'bounce' as const, from: '' }],
    ['a null-sender message', { ...msg, from: '' }],
  ])('leaves %s alone', (_n, m) => {
    expect(outboundEnvelopes(m, ['a@x.test'], rp)).toEqual([{ from: '', to: ['a@x.test'] }]);
  });
  it('sends nothing for no recipient', () => {
    expect(outboundEnvelopes(msg, [], rp)).toEqual([]);
  });
});
