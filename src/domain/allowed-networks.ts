// Allowed networks of an account: the CIDR ranges its AUTH is accepted from. Parsed and matched with
// ipaddr.js; stored normalised ("203.0.113.0/24", "2001:db8::/32"), so what `accounts show` prints is what
// the relay matches. An IPv4 client seen as an IPv4-mapped IPv6 address (::ffff:203.0.113.7) is matched as IPv4.
import ipaddr from 'ipaddr.js';
import { DomainError } from './errors.ts';

/** More would be a firewall's job, not an account's. */
export const MAX_ALLOWED_NETWORKS = 50;

/**
 * "203.0.113.0/24, 2001:db8::/32 198.51.100.7" -> normalised CIDRs (a bare address is its /32 or /128).
 * "" (or only separators) -> []: anywhere. Throws INPUT.INVALID naming the first entry that is not a network.
 */
export function parseAllowedNetworks(input: string): string[] {
  const entries = input
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length > MAX_ALLOWED_NETWORKS) {
    throw new DomainError('INPUT.INVALID', `At most ${MAX_ALLOWED_NETWORKS} allowed networks; got ${entries.length}.`, { max: MAX_ALLOWED_NETWORKS });
  }
  const out: string[] = [];
  for (const entry of entries) {
    const cidr = normaliseNetwork(entry);
    if (!cidr) {
      throw new DomainError('INPUT.INVALID', `"${entry.slice(0, 60)}" is not a network: write an address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/32.`, {
        field: 'allowedNetworks',
        entry: entry.slice(0, 60),
      });
    }
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out;
}

function normaliseNetwork(entry: string): string | null {
  if (entry.length > 64) return null;
  try {
    if (entry.includes('/')) {
      if (!ipaddr.isValidCIDR(entry)) return null;
      const [addr, bits] = ipaddr.parseCIDR(entry);
      // Store the network address (203.0.113.9/24 -> 203.0.113.0/24) so the list reads as networks.
      const network = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(entry) : ipaddr.IPv6.networkAddressFromCIDR(entry);
      return `${network.toString()}/${bits}`;
    }
    // A bare address: strict forms only (ipaddr.isValid also takes "1" or "0x7f.1" as IPv4).
    if (ipaddr.IPv4.isValidFourPartDecimal(entry)) return `${ipaddr.IPv4.parse(entry).toString()}/32`;
    if (ipaddr.IPv6.isValid(entry) && !entry.includes('%')) return `${ipaddr.IPv6.parse(entry).toString()}/128`;
    return null;
  } catch {
    return null;
  }
}

/** Whether a client address may AUTH: no networks set means anywhere; an unreadable address matches nothing. */
export function addressAllowed(networks: readonly string[] | undefined, address: string | undefined): boolean {
  if (!networks || networks.length === 0) return true;
  if (!address) return false;
  let client: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    client = ipaddr.process(address); // ::ffff:a.b.c.d -> a.b.c.d
  } catch {
    return false;
  }
  for (const cidr of networks) {
    try {
      const range = ipaddr.parseCIDR(cidr);
      if (range[0].kind() === client.kind() && client.match(range)) return true;
    } catch {
      // A stored entry that no longer parses allows nothing.
    }
  }
  return false;
}

export function describeAllowedNetworks(networks: readonly string[] | undefined): string {
  return networks?.length ? networks.join(', ') : 'anywhere';
}
