/** The built-in demo origin: echoes what it received; `?status=NNN` picks the status. */
import type { Origin } from './forward';

/** Answers any path with JSON echoing `method`, `path`, `query` and the request `headers`. */
export const demoOrigin: Origin = async (request) => {
  const url = new URL(request.url);
  const requested = Number(url.searchParams.get('status') ?? '200');
  const status =
    Number.isInteger(requested) && requested >= 200 && requested <= 599 ? requested : 200;
  const body = {
    origin: 'edgelimit demo origin',
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(request.headers),
  };
  return new Response(
    status === 204 || status === 205 || status === 304 ? null : JSON.stringify(body, null, 2),
    {
      status,
      headers: { 'Content-Type': 'application/json' },
    },
  );
};
