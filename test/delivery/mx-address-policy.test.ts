// Which addresses direct MX delivery may connect to: global unicast only, IPv4 and IPv6, whatever the spelling.
import { describe, expect, it } from 'vitest';
import { internalAddressReason } from '../../src/delivery/mx-address-policy.ts';

describe('internalAddressReason', () => {
  it.each([
    ['8.8.8.8', null],
    ['2606:4700:4700::1111', null],
    ['::ffff:8.8.8.8', null],
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private network'],
    ['172.16.5.4', 'private network'],
    ['192.168.1.1', 'private network'],
    ['::ffff:10.0.0.1', 'private network'],
    ['fc00::1', 'private network (unique local)'],
    ['fd12:3456::1', 'private network (unique local)'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['100.64.0.1', 'shared address space (carrier-grade NAT)'],
    ['192.0.2.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['64:ff9b::7f00:1', 'special-purpose range (rfc6052)'],
    ['2002:7f00:1::1', 'special-purpose range (6to4)'],
    ['mx.example.test', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%j -> %j', (address, reason) => {
    expect(internalAddressReason(address)).toBe(reason);
  });
});
