// Which envelope addresses can be delivered at all. The relay refuses the others at MAIL FROM / RCPT TO (the
// client learns at once and no quota is spent); the delivery worker checks again before every transaction.

// RFC 5321 dot-atom local part (plus UTF-8 for SMTPUTF8), or a quoted string without control characters.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/u;
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e\u0080-\uffff]|\\[\x20-\x7e])*"$/u;
const LABEL = /^(?!-)[A-Za-z0-9\u0080-\uffff-]{1,63}(?<!-)$/u;

/** Why an envelope address cannot be used in MAIL FROM / RCPT TO, or null when it can. */
export function mailboxProblem(address: string): string | null {
  if (address.length === 0) return 'empty address';
  if (address.length > 320) return 'address longer than 320 characters';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f]/.test(address)) return 'control characters in the address';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'not a mailbox (local@domain)';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'local part longer than 64 characters';
  if (!DOT_ATOM.test(local) && !QUOTED.test(local)) return 'characters not allowed in the local part';
  return domainProblem(domain);
}

export function domainProblem(domain: string): string | null {
  if (domain.startsWith('[')) return 'address literals are not delivered';
  const name = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  if (name.length === 0 || name.length > 253) return 'bad domain length';
  if (!name.split('.').every((l) => LABEL.test(l))) return 'not a valid domain name';
  return null;
}
