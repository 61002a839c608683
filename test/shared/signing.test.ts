// The one signing scheme, as a table of cases: what verifies and what does not, and why.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSignature, signatureHeader, signedHeaders, verifySignature, type VerifyInput } from '../../src/shared/signing.ts';

const secrets = [
  { name: 'pagerduty', secret: 'pd-secret' },
  { name: 'soar', secret: 'soar-secret' },
];
const now = new Date('2026-11-15T12:00:00Z');
const ts = String(now.getTime() / 1000);
const body = Buffer.from('{"action":"disable","username":"smtp-abc","reason":"other"}');

function input(over: Partial<VerifyInput>): VerifyInput {
  return { secrets, timestamp: ts, signature: signatureHeader('pd-secret', ts, body), rawBody: body, now, toleranceMs: 300_000, ...over };
}

describe('signature', () => {
  it('is the hex HMAC-SHA256 of "timestamp.body", as the README and docs/http-and-webhooks.md tell responders', () => {
    const expected = createHmac('sha256', 'pd-secret').update(`${ts}.${body.toString()}`).digest('hex');
    expect(computeSignature('pd-secret', ts, body)).toBe(expected);
    expect(signatureHeader('pd-secret', ts, body)).toBe(`v1=${expected}`);
    const headers = signedHeaders('pd-secret', body, { now, deliveryId: 'd-1' });
    expect(headers).toMatchObject({ 'x-smtpdesk-timestamp': ts, 'x-smtpdesk-signature': `v1=${expected}`, 'x-smtpdesk-delivery': 'd-1' });
  });

  it.each([
    ['the right secret, named', { integration: 'pagerduty' }, { ok: true, integration: 'pagerduty' }],
    ['the right secret, not named (every secret is tried)', {}, { ok: true, integration: 'pagerduty' }],
    ["another integration's secret, not named", { signature: signatureHeader('soar-secret', ts, body) }, { ok: true, integration: 'soar' }],
    ['one of several v1 values (secret rotation)', { signature: `v1=${'0'.repeat(64)}, ${signatureHeader('pd-secret', ts, body)}` }, { ok: true }],
    ['4 min 59 s old', { now: new Date(now.getTime() + 299_000) }, { ok: true }],
    ['signed by another integration than the one named', { integration: 'soar' }, { ok: false, reason: 'signature_invalid' }],
    ['an unknown integration', { integration: 'nobody' }, { ok: false, reason: 'signature_invalid' }],
    ['a wrong secret', { signature: signatureHeader('guess', ts, body) }, { ok: false, reason: 'signature_invalid' }],
    ['a changed body', { rawBody: Buffer.from(body.toString().replace('disable', 'enable')) }, { ok: false, reason: 'signature_invalid' }],
    ['a changed timestamp', { timestamp: String(Number(ts) - 1) }, { ok: false, reason: 'signature_invalid' }],
    ['no version prefix', { signature: computeSignature('pd-secret', ts, body) }, { ok: false, reason: 'signature_invalid' }],
    ['a truncated signature', { signature: signatureHeader('pd-secret', ts, body).slice(0, 40) }, { ok: false, reason: 'signature_invalid' }],
    ['no signature', { signature: undefined }, { ok: false, reason: 'missing' }],
    ['no timestamp', { timestamp: undefined }, { ok: false, reason: 'missing' }],
    ['a timestamp in milliseconds-looking garbage', { timestamp: '2026-11-15T12:00:00Z' }, { ok: false, reason: 'timestamp_invalid' }],
    ['5 min 1 s old', { now: new Date(now.getTime() + 301_000) }, { ok: false, reason: 'timestamp_stale', integration: 'pagerduty' }],
    ['5 min 1 s in the future', { now: new Date(now.getTime() - 301_000) }, { ok: false, reason: 'timestamp_stale' }],
  ] as const)('%s', (_, over, expected) => {
    expect(verifySignature(input(over as Partial<VerifyInput>))).toMatchObject(expected);
  });

  it('gives the same digest for the same signed request, whatever else changes', () => {
    const a = verifySignature(input({}));
    const b = verifySignature(input({ integration: 'pagerduty' }));
    expect(a.ok && b.ok && a.digest === b.digest).toBe(true);
  });
});
