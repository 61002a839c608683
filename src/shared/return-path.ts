// The per-recipient return path (VERP-style envelope sender) that routes a later bounce or complaint back to
// the one recipient of the one queued message it is about:
//
//   bnc-<queue id: 24 hex>-<recipient index: base36>-<HMAC: 16 hex>@<RETURN_PATH_DOMAIN>
//
// At most 3+1+24+1+4+1+16 = 50 characters, within RFC 5321's 64 for a local part. Everything in it is
// case-insensitive (hex, base36), because some mail systems fold the case of the address they answer to.
// The HMAC (SHA-256 under a server key, 64 bits kept) lets the bounces listener refuse a forged address at
// RCPT TO without reading the database: guessing one takes 2^64 tries.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ReturnPathRef {
  /** The queued message (24 hex digits, lower case). */
  queueId: string;
  /** Its recipient's index in the message's recipients. */
  recipient: number;
}

const PREFIX = 'bnc';
const MAC_HEX = 16;
/** base36 in at most 4 digits: far above any message's recipient limit. */
export const MAX_RECIPIENT_INDEX = 36 ** 4 - 1;
const LOCAL_PART = /^bnc-([0-9a-f]{24})-(0|[1-9a-z][0-9a-z]{0,3})-([0-9a-f]{16})$/;

function mac(key: Buffer, queueId: string, recipient: number): string {
  return createHmac('sha256', key).update(`smtpdesk-return-path-v1\0${queueId}\0${recipient}`).digest('hex').slice(0, MAC_HEX);
}

/** The local part for one recipient of one message. Throws on an id or index that no queue holds. */
export function encodeReturnPathLocalPart(key: Buffer, ref: ReturnPathRef): string {
  const queueId = ref.queueId.toLowerCase();
  if (!/^[0-9a-f]{24}$/.test(queueId)) throw new Error(`not a queue id: ${ref.queueId}`);
  if (!Number.isInteger(ref.recipient) || ref.recipient < 0 || ref.recipient > MAX_RECIPIENT_INDEX) throw new Error(`recipient index out of range: ${ref.recipient}`);
  return `${PREFIX}-${queueId}-${ref.recipient.toString(36)}-${mac(key, queueId, ref.recipient)}`;
}

export function encodeReturnPath(key: Buffer, domain: string, ref: ReturnPathRef): string {
  return `${encodeReturnPathLocalPart(key, ref)}@${domain.toLowerCase()}`;
}

/**
 * The message and recipient a return-path address stands for, or null when it is not one of ours: another
 * domain, another shape, or an HMAC that does not verify (forged or made under another key). Never throws.
 */
export function decodeReturnPath(key: Buffer, domain: string, address: unknown): ReturnPathRef | null {
  if (typeof address !== 'string' || address.length > 320) return null;
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  if (address.slice(at + 1).toLowerCase() !== domain.toLowerCase()) return null;
  const m = LOCAL_PART.exec(address.slice(0, at).toLowerCase());
  if (!m) return null;
  const queueId = m[1]!;
  const recipient = parseInt(m[2]!, 36);
  const given = Buffer.from(m[3]!, 'utf8');
  const expected = Buffer.from(mac(key, queueId, recipient), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { queueId, recipient };
}
