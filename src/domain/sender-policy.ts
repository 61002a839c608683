// Allowed senders of an account: which envelope senders (MAIL FROM) and header From: addresses the relay
// accepts for it. A leaked password then sends only as the application's own addresses.
//
// A rule is one of:
//   noreply@acme.test     that address (case-insensitive)
//   *@billing.acme.test   any mailbox of exactly that domain (not its subdomains)
//   billing.acme.test     the same: any mailbox of exactly that domain
//   *.acme.test           any mailbox of any subdomain of acme.test (not acme.test itself)
// No rules: any sender (the default). The null sender (<>) is always allowed: bounces and notices use it.
import { DomainError } from './errors.ts';

/** At most this many rules per account: the list travels with every account read of the relay. */
export const MAX_ALLOWED_SENDERS = 50;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?:${LABEL}\\.)+${LABEL}$`);
const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;

/** Parses "a@x.test, *@y.test z.test" into normalized rules; "" (or only spaces/commas) clears the list. */
export function parseAllowedSenders(input: string): string[] {
  const rules = input
    .split(/[\s,;]+/)
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);
  const bad = rules.filter((r) => !isRule(r));
  if (bad.length) {
    throw new DomainError(
      'INPUT.INVALID',
      `Not an allowed-sender rule: ${bad.join(', ')}. Use an address (noreply@acme.test), a domain (acme.test or *@acme.test) or its subdomains (*.acme.test).`,
      { rules: bad },
    );
  }
  const unique = [...new Set(rules.map((r) => (r.startsWith('*@') ? r.slice(2) : r)))];
  if (unique.length > MAX_ALLOWED_SENDERS) {
    throw new DomainError('INPUT.INVALID', `At most ${MAX_ALLOWED_SENDERS} allowed-sender rules per account (got ${unique.length}).`, { count: unique.length });
  }
  return unique;
}

function isRule(r: string): boolean {
  if (r.startsWith('*.')) return DOMAIN.test(r.slice(2));
  if (r.startsWith('*@')) return DOMAIN.test(r.slice(2));
  const at = r.lastIndexOf('@');
  if (at === -1) return DOMAIN.test(r);
  return LOCAL.test(r.slice(0, at)) && DOMAIN.test(r.slice(at + 1));
}

/** The rule that allows `address`, or null. Rules are normalized (parseAllowedSenders). */
export function allowingRule(rules: readonly string[], address: string): string | null {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at <= 0) return null;
  const domain = a.slice(at + 1);
  for (const r of rules) {
    if (r.includes('@') ? r === a : r.startsWith('*.') ? domain.endsWith(r.slice(1)) : domain === r) return r;
  }
  return null;
}

export type SenderVerdict = { ok: true } | { ok: false; address: string };

/** Whether every address may be used as the sender; no rules allow everything, '' (the null sender) always passes. */
export function checkSenders(rules: readonly string[] | undefined, addresses: readonly string[]): SenderVerdict {
  if (!rules || rules.length === 0) return { ok: true };
  for (const address of addresses) {
    if (address === '') continue;
    if (!allowingRule(rules, address)) return { ok: false, address };
  }
  return { ok: true };
}

/** "noreply@acme.test, *@billing.acme.test": how a rule list is shown (domains as *@domain, so it reads as a pattern). */
export function describeAllowedSenders(rules: readonly string[] | undefined): string {
  if (!rules || rules.length === 0) return 'any sender';
  return rules.map((r) => (r.includes('@') || r.startsWith('*.') ? r : `*@${r}`)).join(', ');
}
