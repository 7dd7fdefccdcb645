/** Matches request paths against endpoint rule patterns (`:param`, `*`, trailing `**`). */

/**
 * True when `path` matches `pattern`. `:name` and `*` match exactly one segment, a trailing `**`
 * matches the rest (including nothing). Trailing slashes are ignored; matching is case-sensitive,
 * like most routers.
 * @example matchPath('/v1/items/:id', '/v1/items/42') // true
 */
export function matchPath(pattern: string, path: string): boolean {
  const want = split(pattern);
  const got = split(path);
  for (let i = 0; i < want.length; i++) {
    const segment = want[i];
    if (segment === '**' && i === want.length - 1) return true;
    const actual = got[i];
    if (actual === undefined) return false;
    if (segment === '*' || segment?.startsWith(':')) continue;
    if (segment !== actual) return false;
  }
  return want.length === got.length;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}
