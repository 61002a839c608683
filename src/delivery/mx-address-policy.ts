// Which addresses direct-MX delivery may connect to. A recipient domain's MX (or A/AAAA) records are the
// tenant's to write: without this rule a record pointing at 127.0.0.1, 10.0.0.1 or fe80::1 would make the
// worker open SMTP sessions inside the network it runs in (zone-mta refuses them the same way). Only global
// unicast addresses pass; ipaddr.js classifies them (IPv4-mapped IPv6 is judged as the IPv4 it carries).
import ipaddr from 'ipaddr.js';

/** ipaddr.js range names -> words for the failure a sender reads. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private network',
  uniqueLocal: 'private network (unique local)',
  linkLocal: 'link-local',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  carrierGradeNat: 'shared address space (carrier-grade NAT)',
  reserved: 'reserved',
};

/**
 * Null when `address` is a global unicast address; otherwise why delivery must not connect to it, e.g.
 * "loopback". Anything that is not an IP address at all is refused too (the resolver only returns addresses).
 */
export function internalAddressReason(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process(): "::ffff:10.0.0.1" becomes 10.0.0.1, so a mapped address is classified as what it reaches.
    parsed = ipaddr.process(address);
  } catch {
    return 'not an IP address';
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  // The other special ranges (6to4, Teredo, NAT64, benchmarking, documentation…) can carry or reach an internal
  // IPv4 address; no legitimate MX needs them.
  return RANGE_WORDS[range] ?? `special-purpose range (${range})`;
}
