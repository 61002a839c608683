// Webhook signatures, one scheme for both directions: inbound admin webhooks are verified with it and
// outbound event webhooks are signed with it, so a responder writes one verifier for both.
//
//   X-Smtpdesk-Timestamp: <unix seconds>
//   X-Smtpdesk-Signature: v1=<hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>
//   X-Smtpdesk-Delivery:  <unique id of this delivery>
//
// Several `v1=` values may be given, separated by commas (a sender rotating its secret signs with both).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADERS = {
  timestamp: 'x-smtpdesk-timestamp',
  signature: 'x-smtpdesk-signature',
  delivery: 'x-smtpdesk-delivery',
  integration: 'x-smtpdesk-integration',
  event: 'x-smtpdesk-event',
} as const;

export const SIGNATURE_VERSION = 'v1';
const DIGEST_BYTES = 32;

/** Hex HMAC-SHA256 of `${timestamp}.${rawBody}`. */
export function computeSignature(secret: string, timestamp: string | number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The X-Smtpdesk-Signature header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: string | number, rawBody: string | Buffer): string {
  return `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, rawBody)}`;
}

/** Every header a signed request carries (outbound webhooks, tests, the README's Node snippet). */
export function signedHeaders(secret: string, rawBody: string | Buffer, opts: { now?: Date; deliveryId?: string } = {}): Record<string, string> {
  const timestamp = String(Math.floor((opts.now ?? new Date()).getTime() / 1000));
  return {
    'content-type': 'application/json',
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.signature]: signatureHeader(secret, timestamp, rawBody),
    [SIGNATURE_HEADERS.delivery]: opts.deliveryId ?? randomBytes(16).toString('hex'),
  };
}

export interface NamedSecret {
  name: string;
  secret: string;
}

export type VerifyFailure =
  /** A header is absent or empty. */
  | 'missing'
  /** The timestamp is not a number of seconds. */
  | 'timestamp_invalid'
  /** No secret matches (or the named integration is unknown). */
  | 'signature_invalid'
  /** Correctly signed, but outside the tolerance window. */
  | 'timestamp_stale';

export type VerifyResult =
  | { ok: true; integration: string; timestamp: Date; /** Hex digest that matched: the same signed request always has the same one. */ digest: string }
  | { ok: false; reason: VerifyFailure; integration?: string };

export interface VerifyInput {
  secrets: readonly NamedSecret[];
  timestamp: string | undefined;
  signature: string | undefined;
  /** X-Smtpdesk-Integration: which secret to check. Without it, every secret is checked. */
  integration?: string | undefined;
  rawBody: Buffer;
  now: Date;
  toleranceMs: number;
}

/**
 * Checks the signature first (so an unsigned caller learns nothing else), then the time window.
 * Comparisons are constant-time, and every candidate secret is checked even after a match, so the
 * time taken says nothing about which secret matched or which integration names exist.
 */
export function verifySignature(input: VerifyInput): VerifyResult {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp.trim())) return { ok: false, reason: 'timestamp_invalid' };

  const provided = parseSignatureHeader(signature);
  const candidates = input.integration !== undefined ? input.secrets.filter((s) => s.name === input.integration) : input.secrets;
  // An unknown integration still costs one HMAC, so its absence cannot be timed.
  const toCheck = candidates.length ? candidates : [{ name: '', secret: randomBytes(32).toString('hex') }];

  let matched: NamedSecret | undefined;
  let matchedDigest = '';
  for (const candidate of toCheck) {
    const expected = Buffer.from(computeSignature(candidate.secret, timestamp.trim(), input.rawBody), 'hex');
    let hit = false;
    for (const p of provided) hit = timingSafeEqual(expected, p) || hit;
    if (hit && candidate.name !== '' && matched === undefined) {
      matched = candidate;
      matchedDigest = expected.toString('hex');
    }
  }
  if (!matched) return { ok: false, reason: 'signature_invalid' };

  const at = new Date(Number(timestamp.trim()) * 1000);
  if (Math.abs(input.now.getTime() - at.getTime()) > input.toleranceMs) {
    return { ok: false, reason: 'timestamp_stale', integration: matched.name };
  }
  return { ok: true, integration: matched.name, timestamp: at, digest: matchedDigest };
}

/** "v1=abc…, v1=def…" -> 32-byte buffers; anything malformed becomes a buffer that can never match. */
function parseSignatureHeader(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const part of header.split(',').slice(0, 5)) {
    const [version, value] = part.trim().split('=', 2);
    if (version === SIGNATURE_VERSION && value && /^[0-9a-f]{64}$/i.test(value)) out.push(Buffer.from(value, 'hex'));
  }
  if (out.length === 0) out.push(Buffer.alloc(DIGEST_BYTES));
  return out;
}
