// Envelope hygiene. smtp-server already refuses control characters in addresses and parameters; the relay
// checks again because what it stores here ends up in headers and in the delivery worker's commands.
import type { SMTPServerAddress } from 'smtp-server';

const FORBIDDEN = /[\r\n\0]/;

export type EnvelopeProblem = 'address' | 'parameter' | null;

export function envelopeProblem(address: SMTPServerAddress): EnvelopeProblem {
  if (FORBIDDEN.test(address.address)) return 'address';
  if (address.args) {
    for (const [key, value] of Object.entries(address.args)) {
      if (FORBIDDEN.test(key) || (typeof value === 'string' && FORBIDDEN.test(value))) return 'parameter';
    }
  }
  return null;
}
