// Generated usernames and passwords, and the bcrypt hashing of passwords.
import { randomInt } from 'node:crypto';
import bcrypt from 'bcrypt';
import { formatPassword, USERNAME_ID_ALPHABET, USERNAME_ID_LENGTH, USERNAME_PREFIX, usernameId } from './password-format.ts';

/**
 * e.g. "smtp-k7q2m9x4rt": 10 characters of a 31-letter alphabet (~49 bits), unique forever by registry. The 10
 * characters are the account's public id inside its passwords (password-format.ts).
 */
export function generateUsername(): string {
  let s = '';
  for (let i = 0; i < USERNAME_ID_LENGTH; i++) s += USERNAME_ID_ALPHABET[randomInt(USERNAME_ID_ALPHABET.length)];
  return `${USERNAME_PREFIX}${s}`;
}

const LEGACY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LEGACY_LENGTH = 32;

/**
 * A new password for the account with this username: the scanner-friendly format of password-format.ts
 * (`smtpd_…`, about 190 random bits and a checksum). Without a generated username (the dummy hash), the old
 * format: 32 letters and digits, each uniform (randomInt rejects biased draws), about 190 bits. Passwords of
 * the old format keep working: only the hash is stored, and a rotate gives the new format.
 */
export function generatePassword(username?: string): string {
  if (username !== undefined && usernameId(username)) return formatPassword(username);
  let s = '';
  for (let i = 0; i < LEGACY_LENGTH; i++) s += LEGACY_ALPHABET[randomInt(LEGACY_ALPHABET.length)];
  return s;
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

const dummyHashes = new Map<number, Promise<string>>();
/**
 * A hash to compare against when the username is unknown, disabled or deleted, so that every
 * failed AUTH costs one bcrypt check and no one can tell which usernames exist by timing.
 * One per cost: a check against it must take as long as one against a real hash of that cost.
 */
export function dummyPasswordHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (!hash) {
    hash = bcrypt.hash(generatePassword(), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}
