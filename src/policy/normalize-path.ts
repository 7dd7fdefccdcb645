/**
 * The path an endpoint rule sees (pure). Rules must not be dodged by spelling a path differently,
 * so matching is deliberately generous: anything an origin's router could plausibly treat as the
 * same endpoint counts against that endpoint's rule. The request itself is forwarded unchanged.
 */

/** How many rounds of percent-decoding are undone (`%2573` -> `%73` -> `s`). */
const DECODE_ROUNDS = 3;
const PERCENT = /%[0-9A-Fa-f]{2}/;

/**
 * Segments of `path` as rules match them:
 * - every percent-encoding is decoded, up to three times over (double encoding included), and an
 *   encoded `/` (`%2F`) or `\` becomes a segment separator, as many servers and frameworks decode
 *   it before routing;
 * - empty segments (`//`), `.` and `..` dot segments are resolved (RFC 3986 §5.2.4);
 * - matrix parameters (`;x` to the end of a segment) are dropped, and so are leading and
 *   trailing whitespace, control characters and dots of a segment (`/search%20`, `/search.`).
 * Case is kept; {@link matchPath} decides whether it matters. A format suffix (`.json`) is kept
 * too: the matcher treats it as the same endpoint unless the pattern spells a suffix itself.
 * @example normalizedSegments('/v1//%73earch;x/') // ['v1', 'search']
 */
export function normalizedSegments(path: string): string[] {
  let decoded = path;
  for (let i = 0; i < DECODE_ROUNDS && PERCENT.test(decoded); i++) decoded = decodeOnce(decoded);
  const out: string[] = [];
  for (const raw of decoded.split(/[/\\]/)) {
    const cut = raw.indexOf(';');
    const trimmed = (cut >= 0 ? raw.slice(0, cut) : raw).replace(/^[\s\p{Cc}]+|[\s\p{Cc}]+$/gu, '');
    const segment =
      trimmed === '.' || trimmed === '..' ? trimmed : trimmed.replace(/[\s\p{Cc}.]+$/u, '');
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return out;
}

/** Decodes every `%XX` once; malformed UTF-8 sequences are decoded byte by byte where ASCII. */
function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  }
}

/** Methods a request may be acted on as: its own and any method-override header's. */
export const METHOD_OVERRIDE_HEADERS = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
] as const;

/**
 * Every method a request can be routed as. Origins that honour `X-HTTP-Method-Override` (and its
 * two common spellings) treat a `GET` carrying `POST` as a `POST`, so rules match on each of them;
 * the headers are forwarded unchanged, since the API behind may rely on them.
 * @example effectiveMethods('GET', new Headers({ 'X-HTTP-Method-Override': 'post' })) // GET, POST
 */
export function effectiveMethods(method: string, headers: Headers): string[] {
  const methods = [method.toUpperCase()];
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = headers.get(name);
    if (!value) continue;
    for (const m of value.split(',')) {
      const named = m.trim().toUpperCase();
      // Distinct, in the order first named: a short list, so no Set per request.
      if (named && !methods.includes(named)) methods.push(named);
    }
  }
  return methods;
}
