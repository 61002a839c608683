// Generated usernames and passwords, and the bcrypt hashing of passwords.
import { randomInt } from 'node:crypto';
import bcrypt from 'bcrypt';

const USERNAME_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** e.g. "smtp-k7q2m9x4rt": 10 characters of a 31-letter alphabet (~49 bits), unique forever by registry. */
export function generateUsername(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += USERNAME_ALPHABET[randomInt(USERNAME_ALPHABET.length)];
  return `smtp-${s}`;
}

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PASSWORD_LENGTH = 32;

/**
 * 32 letters and digits, each uniform (randomInt rejects biased draws): about 190 bits. Letters and digits
 * only, so the password survives every place it is pasted: a `-` first is read as an option by command-line
 * tools (swaks, curl), and `-` or `_` stop a double-click selection.
 */
export function generatePassword(): string {
  let s = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) s += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
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
