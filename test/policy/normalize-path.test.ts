import { describe, expect, it } from 'vitest';
import { effectiveMethods, normalizedSegments } from '../../src/policy/normalize-path';
import { matchPath } from '../../src/policy/path-pattern';
import { SEARCH_SPELLINGS } from '../support/hostile';

describe('normalizedSegments', () => {
  it('decodes, resolves dot segments, drops matrix parameters and empty segments', () => {
    expect(normalizedSegments('/v1//%73earch;x/')).toEqual(['v1', 'search']);
    expect(normalizedSegments('/a/./b/../c')).toEqual(['a', 'c']);
    expect(normalizedSegments('/a/%2e%2e/b')).toEqual(['b']);
    expect(normalizedSegments('/v1\\search')).toEqual(['v1', 'search']);
    expect(normalizedSegments('/caf%C3%A9')).toEqual(['café']);
    expect(normalizedSegments('/bad%E0%A4')).toEqual(['bad%E0%A4']);
  });
});

describe('matchPath on hostile spellings', () => {
  it('matches every spelling of the same endpoint', () => {
    for (const path of SEARCH_SPELLINGS)
      expect([path, matchPath('/v1/search', path)]).toEqual([path, true]);
  });

  it('keeps different endpoints different', () => {
    for (const path of ['/v1/searches', '/v1/search/x', '/v2/search', '/v1', '/v1/sea%72ch2']) {
      expect([path, matchPath('/v1/search', path)]).toEqual([path, false]);
    }
    // A pattern that spells a suffix itself wants exactly that suffix.
    expect(matchPath('/v1/report.csv', '/v1/report.csv')).toBe(true);
    expect(matchPath('/v1/report.csv', '/v1/report')).toBe(false);
  });

  it('compares case only when a rule asks for it', () => {
    expect(matchPath('/v1/Search', '/v1/search', { caseSensitive: true })).toBe(false);
    expect(matchPath('/v1/Search', '/v1/%53earch', { caseSensitive: true })).toBe(true);
  });
});

describe('effectiveMethods', () => {
  it('adds the methods named by every override header', () => {
    const headers = new Headers({ 'X-HTTP-Method-Override': 'post', 'X-Method-Override': 'PUT' });
    expect(effectiveMethods('GET', headers)).toEqual(['GET', 'POST', 'PUT']);
    expect(effectiveMethods('get', new Headers())).toEqual(['GET']);
  });
});
