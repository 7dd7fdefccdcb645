/** Hostile inputs shared by the policy and route tests: what an attacker actually tried. */

/** Spellings of `/v1/search` an attacker tried against the search rule. */
export const SEARCH_SPELLINGS = [
  '/v1/search',
  '/V1/search',
  '/v1/Search',
  '/v1/%73earch',
  '/v1/%2573earch',
  '/v1/search;x',
  '/v1/search%2F',
  '/v1/search%20',
  '/v1/search.json',
  '/v1//search',
  '/v1/./search',
  '/v1/x/../search',
  '/v1/search/',
  '/v1/search.',
  '/v1%2Fsearch',
];

/** Six spellings of one IPv6 address (2001:db8::1). */
export const IPV6_SPELLINGS = [
  '2001:db8:0:0:0:0:0:1',
  '2001:DB8::1',
  '2001:0db8:0000:0000:0000:0000:0000:0001',
  '2001:db8::0:1',
  '2001:db8:0::0:0:1',
  '2001:0DB8:0:0::0001',
];
