/**
 * Client addresses as limits see them (pure): IPv6 in one canonical spelling (RFC 5952), so one
 * address is one identity however it is written, and grouped by network prefix (a /64 by
 * default), since one subscriber commonly holds a whole /64 and could otherwise rotate through
 * 2^64 identities.
 */

/** Default IPv6 prefix anonymous callers (and failed attempts) are counted by. */
export const DEFAULT_IPV6_PREFIX = 64;

/**
 * The address in canonical form: IPv4 as is, IPv6 per RFC 5952 (lowercase, no leading zeros,
 * the longest run of zero groups as `::`), an IPv4-mapped IPv6 address as its IPv4 address.
 * `undefined` when it is neither.
 * @example canonicalAddress('2001:0DB8:0:0::1') // '2001:db8::1'
 */
export function canonicalAddress(text: string): string | undefined {
  if (!text.includes(':')) return parseIpv4(text) ? text : undefined;
  const groups = parseIpv6(text);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return formatIpv6(groups);
}

/**
 * The subject an anonymous caller is limited as: an IPv4 address itself, an IPv6 address's
 * network at `prefix` bits in CIDR form (`2001:db8:1:2::/64`), or the address at 128.
 * @example limitSubject('2001:db8:1:2:aaaa::1', 64) // '2001:db8:1:2::/64'
 */
export function limitSubject(address: string, prefix = DEFAULT_IPV6_PREFIX): string {
  const canonical = canonicalAddress(address);
  if (canonical === undefined) return 'unknown';
  if (!canonical.includes(':') || prefix >= 128) return canonical;
  const groups = parseIpv6(canonical) ?? [];
  const masked = groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    return bits === 16 ? g : bits === 0 ? 0 : g & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${formatIpv6(masked)}/${prefix}`;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  let rest = text.toLowerCase();
  let embedded: number[] = [];
  if (rest.includes('.')) {
    const cut = rest.lastIndexOf(':');
    const v4 = parseIpv4(rest.slice(cut + 1));
    if (!v4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    embedded = [(a << 8) | b, (c << 8) | d];
    rest = rest.slice(0, cut);
    if (rest.endsWith(':')) rest += ':';
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) =>
    part === ''
      ? []
      : part
          .split(':')
          .map((h) => (/^[0-9a-f]{1,4}$/.test(h) ? Number.parseInt(h, 16) : Number.NaN));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const missing = 8 - head.length - tail.length - embedded.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [
    ...head,
    ...new Array<number>(Math.max(0, missing)).fill(0),
    ...tail,
    ...embedded,
  ];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

function formatIpv6(groups: readonly number[]): string {
  // The longest run of two or more zero groups (the first of equal runs) becomes `::`.
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  const left = hex.slice(0, best.start).join(':');
  const right = hex.slice(best.start + best.length).join(':');
  return `${left}::${right}`;
}
