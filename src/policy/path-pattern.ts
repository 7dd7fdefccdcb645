/** Matches request paths against endpoint rule patterns (`:param`, `*`, trailing `**`). */
import { normalizedSegments } from './normalize-path';

/** How a pattern compares segments. */
export interface MatchOptions {
  /** Compare segments case-sensitively; default false (`/V1/Search` is `/v1/search`). */
  readonly caseSensitive?: boolean;
}

/**
 * True when `path` matches `pattern`, both normalized by {@link normalizedSegments}. `:name` and
 * `*` match exactly one segment, a trailing `**` matches the rest (including nothing). Matching
 * ignores case unless `caseSensitive`; a last segment with a format suffix (`search.json`)
 * matches the pattern's segment without it (`search`), unless the pattern has a suffix itself.
 * @example matchPath('/v1/items/:id', '/v1/items/42') // true
 * @example matchPath('/v1/search', '/V1/%73earch.json') // true
 */
export function matchPath(pattern: string, path: string, options: MatchOptions = {}): boolean {
  const fold = (s: string) => (options.caseSensitive ? s : s.toLowerCase());
  const want = normalizedSegments(pattern).map(fold);
  const got = normalizedSegments(path).map(fold);
  for (let i = 0; i < want.length; i++) {
    const segment = want[i];
    if (segment === '**' && i === want.length - 1) return true;
    const actual = got[i];
    if (actual === undefined || segment === undefined) return false;
    if (segment === '*' || segment.startsWith(':')) continue;
    if (segment === actual) continue;
    const last = i === want.length - 1 && i === got.length - 1;
    if (last && !segment.includes('.') && withoutSuffix(actual) === segment) continue;
    return false;
  }
  return want.length === got.length;
}

/** `search.json` -> `search`: the suffix some frameworks read as the response format. */
function withoutSuffix(segment: string): string {
  const dot = segment.lastIndexOf('.');
  return dot > 0 ? segment.slice(0, dot) : segment;
}
