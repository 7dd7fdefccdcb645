import { describe, expect, it } from 'vitest';
import { canonicalAddress, limitSubject } from '../../src/identity/ip-address';
import { IPV6_SPELLINGS as SPELLINGS } from '../support/hostile';

describe('canonicalAddress', () => {
  it('spells one IPv6 address one way (RFC 5952)', () => {
    expect(new Set(SPELLINGS.map(canonicalAddress))).toEqual(new Set(['2001:db8::1']));
    expect(canonicalAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalAddress('::')).toBe('::');
    expect(canonicalAddress('::1')).toBe('::1');
    expect(canonicalAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('203.0.113.7')).toBe('203.0.113.7');
  });

  it('refuses what is not an address', () => {
    for (const bad of [
      '1::2::3',
      '12345::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '256.1.1.1',
      'g::1',
      '::1.2.3',
    ]) {
      expect([bad, canonicalAddress(bad)]).toEqual([bad, undefined]);
    }
  });
});

describe('limitSubject', () => {
  it('groups IPv6 callers by their /64 by default, and IPv4 by address', () => {
    expect(limitSubject('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(limitSubject('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(limitSubject('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(limitSubject('2001:db8:1:2:aaaa::1', 48)).toBe('2001:db8:1::/48');
    expect(limitSubject('2001:db8:1:2:aaaa::1', 56)).toBe('2001:db8:1::/56');
    expect(limitSubject('2001:db8:1:2ff:aaaa::1', 56)).toBe('2001:db8:1:200::/56');
    expect(limitSubject('2001:DB8::1', 128)).toBe('2001:db8::1');
    expect(limitSubject('198.51.100.4')).toBe('198.51.100.4');
  });
});
