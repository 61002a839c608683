// Rules for the descriptive name of an SMTP account.
import { DomainError } from './errors.ts';

export const ACCOUNT_NAME_MAX_LENGTH = 64;

/** Shown next to every name field: the conventions teams use to keep many accounts readable. */
export const NAMING_CONVENTIONS = [
  { basis: 'environment', example: 'staging, production' },
  { basis: 'email type', example: 'transactional, marketing, alerts' },
  { basis: 'team', example: 'billing-team, support' },
  { basis: 'app', example: 'checkout-service, crm' },
  { basis: 'client', example: 'acme-corp' },
] as const;

export const NAMING_HINT =
  'Name it by environment, email type, team, app or client, e.g. "production-transactional", ' +
  '"staging-checkout", "billing-team-invoices", "acme-corp-marketing". Letters, digits, spaces, . _ - only; ' +
  `at most ${ACCOUNT_NAME_MAX_LENGTH} characters.`;

const ALLOWED = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;

/** Trims and validates a name; returns it as the user meant it (case kept). */
export function validateAccountName(input: string | undefined | null): string {
  const name = (input ?? '').trim().replace(/\s+/g, ' ');
  if (name.length === 0) {
    throw new DomainError('ACCOUNT.NAME_INVALID', 'Give the account a name.', { reason: 'empty' });
  }
  if (name.length > ACCOUNT_NAME_MAX_LENGTH) {
    throw new DomainError('ACCOUNT.NAME_INVALID', `The name is ${name.length} characters long; keep it to ${ACCOUNT_NAME_MAX_LENGTH}.`, {
      reason: 'too_long',
      max: ACCOUNT_NAME_MAX_LENGTH,
    });
  }
  if (!ALLOWED.test(name)) {
    throw new DomainError('ACCOUNT.NAME_INVALID', 'Use letters, digits, spaces, dots, underscores and dashes, starting with a letter or digit.', { reason: 'characters' });
  }
  return name;
}

/** The key names are unique by, ignoring case and spacing differences. */
export function accountNameKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLocaleLowerCase('en-US');
}

/** Closest existing name within a small edit distance, for "did you mean". */
export function closestName(input: string, names: readonly string[]): string | undefined {
  const key = accountNameKey(input);
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = editDistance(key, accountNameKey(name));
    if (!best || d < best.d) best = { name, d };
  }
  if (!best) return undefined;
  const limit = Math.max(2, Math.floor(key.length / 3));
  return best.d <= limit ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
