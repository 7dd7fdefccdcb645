/** Forwards allowed traffic to the origin and adds headers without touching the body. */

/** Headers only the worker may set for the origin; whatever the client sent is dropped. */
export const TRUSTED_HEADERS = ['x-customer-id', 'x-customer-tier', 'x-service-name'] as const;
const TRUSTED_PREFIX = 'x-edgelimit-';

/**
 * Copies the request headers without the trusted ones (and the service token, which the origin
 * must not see), then sets the trusted ones from the verified identity.
 */
export function originHeaders(incoming: Headers, trusted: Record<string, string>): Headers {
  const headers = new Headers();
  for (const [name, value] of incoming) {
    const lower = name.toLowerCase();
    if ((TRUSTED_HEADERS as readonly string[]).includes(lower)) continue;
    if (lower.startsWith(TRUSTED_PREFIX) || lower === 'x-service-token') continue;
    headers.append(name, value);
  }
  for (const [name, value] of Object.entries(trusted)) headers.set(name, value);
  return headers;
}

/** A fetch-like function standing for the origin. */
export type Origin = (request: Request) => Promise<Response>;

/**
 * Builds the origin from `ORIGIN_URL`: empty = the route's own origin (the same URL),
 * `http(s)://host[:port]` = that host with the request's path and query.
 */
export function urlOrigin(originUrl: string): Origin {
  const base = originUrl ? new URL(originUrl) : undefined;
  return (request) => {
    if (!base) return fetch(request);
    const url = new URL(request.url);
    url.protocol = base.protocol;
    url.host = base.host;
    url.pathname = base.pathname.replace(/\/$/, '') + url.pathname || '/';
    return fetch(new Request(url, request));
  };
}

/** Returns a response with `extra` headers added; the body stream is passed through as is. */
export function withHeaders(response: Response, extra: Record<string, string>): Response {
  const out = new Response(response.body, response);
  for (const [name, value] of Object.entries(extra)) out.headers.set(name, value);
  return out;
}
