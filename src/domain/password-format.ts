// The format of SMTP passwords, made for secret scanners (GitHub secret scanning, gitleaks, trufflehog):
//
//   smtpd_ <10-letter username id> <32 random base62> <6 base62: CRC32 of the 42 before>
//
// - The prefix makes a leaked password recognisable in any text; it ends in `_` as GitHub's tokens do.
// - The 32 random characters carry the secret: about 190 bits (32 × log2 62).
// - The username id is the account's public id (its username without "smtp-"): a leak report finds the
//   account with one read by key instead of a scan; see docs/secret-scanning.md for why this and not a
//   keyed hash beside the bcrypt hash.
// - The checksum lets a checker tell a real password from a look-alike offline, without the database.
// Letters, digits and one underscore: no character a shell, a URL or a config file reads specially.
import { randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const PASSWORD_PREFIX = 'smtpd_';
export const USERNAME_PREFIX = 'smtp-';
/** The id part: generated usernames are "smtp-" and 10 letters of this alphabet (credentials.ts). */
export const USERNAME_ID_LENGTH = 10;
export const USERNAME_ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
/** 6 + 10 + 32 + 6 = 54 characters. */
export const PASSWORD_LENGTH = PASSWORD_PREFIX.length + USERNAME_ID_LENGTH + RANDOM_LENGTH + CHECKSUM_LENGTH;

/** GitHub's order for base62 checksums: digits, upper case, lower case. */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The regular expression scanners use (docs/secret-scanning/): the same one as PASSWORD_PATTERN_SOURCE,
 * anchored on word boundaries so that a password inside a longer word is not taken for one.
 */
export const PASSWORD_PATTERN_SOURCE = `\\b${PASSWORD_PREFIX}[a-z2-9]{${USERNAME_ID_LENGTH}}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}\\b`;
const EXACT = new RegExp(`^${PASSWORD_PREFIX}([a-z2-9]{${USERNAME_ID_LENGTH}})([0-9A-Za-z]{${RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

/** CRC32 of `body` as 6 base62 digits, most significant first, zero-padded (62^6 > 2^32). */
export function base62Checksum(body: string): string {
  let n = crc32(Buffer.from(body, 'utf8'));
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomBase62(length: number): string {
  let s = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < length; i++) s += BASE62[randomInt(BASE62.length)];
  return s;
}

/** A new password for the account with this (generated) username. */
export function formatPassword(username: string): string {
  const id = usernameId(username);
  if (!id) throw new Error(`not a generated username: ${JSON.stringify(username)}`);
  const body = id + randomBase62(RANDOM_LENGTH);
  return `${PASSWORD_PREFIX}${body}${base62Checksum(body)}`;
}

/** "smtp-k7q2m9x4rt" -> "k7q2m9x4rt"; null for anything that is not a generated username. */
export function usernameId(username: string): string | null {
  if (!username.startsWith(USERNAME_PREFIX)) return null;
  const id = username.slice(USERNAME_PREFIX.length);
  if (id.length !== USERNAME_ID_LENGTH) return null;
  for (const ch of id) if (!USERNAME_ID_ALPHABET.includes(ch)) return null;
  return id;
}

export type TokenCheck = { ok: true; username: string } | { ok: false; reason: 'format' | 'checksum' };

/**
 * Whether `token` is shaped like one of our passwords and its checksum holds: offline, no database. A
 * password of the old format (32 letters and digits) is `format`: scanners cannot report it anyway.
 */
export function checkPasswordToken(token: string): TokenCheck {
  if (typeof token !== 'string' || token.length !== PASSWORD_LENGTH) return { ok: false, reason: 'format' };
  const m = EXACT.exec(token);
  if (!m) return { ok: false, reason: 'format' };
  const id = m[1]!;
  for (const ch of id) if (!USERNAME_ID_ALPHABET.includes(ch)) return { ok: false, reason: 'format' };
  if (base62Checksum(id + m[2]!) !== m[3]) return { ok: false, reason: 'checksum' };
  return { ok: true, username: `${USERNAME_PREFIX}${id}` };
}
