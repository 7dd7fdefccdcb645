/** HTTP client of the admin API: where it is, how to authenticate, and its errors as ApiError. */
import { ApiError, UsageError } from './errors';

/** Admin token the local dev stack uses; sent only to a worker on this machine. */
export const LOCAL_ADMIN_TOKEN = 'demo-admin-token';
const DEFAULT_URL = 'http://127.0.0.1:8787';
const ADMIN_PATH = '/_edgelimit/admin';

/** Where the admin API is and the token to send. */
export interface Connection {
  readonly url: string;
  readonly token: string;
}

/**
 * Resolves `--url` / `--token` with their defaults: `EDGELIMIT_URL` or the local worker, and
 * `EDGELIMIT_ADMIN_TOKEN`, or the demo token, but only for a worker on localhost.
 */
export function resolveConnection(
  options: { url?: string | undefined; token?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): Connection {
  const url = (options.url ?? env.EDGELIMIT_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(url)}: not a URL (e.g. https://api.example.com)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url ${JSON.stringify(url)}: must be http or https`);
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  const token =
    options.token ?? env.EDGELIMIT_ADMIN_TOKEN ?? (local ? LOCAL_ADMIN_TOKEN : undefined);
  if (!token) {
    throw new UsageError(
      `no admin token for ${parsed.host}: pass --token or set EDGELIMIT_ADMIN_TOKEN ` +
        '(the demo token is only used for a worker on localhost)',
    );
  }
  return { url, token };
}

/** The admin API, one method per verb. Paths are relative to `/_edgelimit/admin`. */
export interface AdminClient {
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
  put(path: string, body: unknown): Promise<unknown>;
  delete(path: string): Promise<unknown>;
}

/** Creates a client; `fetchImpl` is injectable for tests. */
export function createAdminClient(
  connection: Connection,
  fetchImpl: typeof fetch = fetch,
): AdminClient {
  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    const target = `${connection.url}${ADMIN_PATH}${path}`;
    let response: Response;
    try {
      response = await fetchImpl(target, {
        method,
        headers: {
          Authorization: `Bearer ${connection.token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      throw new ApiError(
        `could not reach ${connection.url} (${cause instanceof Error ? cause.message : String(cause)})`,
        0,
      );
    }
    const text = await response.text();
    const json = parseJson(text);
    if (!response.ok) throw apiError(method, path, response, json, text);
    return json;
  }
  return {
    get: (path) => send('GET', path),
    post: (path, body) => send('POST', path, body),
    put: (path, body) => send('PUT', path, body),
    delete: (path) => send('DELETE', path),
  };
}

function apiError(
  method: string,
  path: string,
  response: Response,
  json: unknown,
  text: string,
): ApiError {
  const problem = isRecord(json) ? json : undefined;
  const title = typeof problem?.title === 'string' ? problem.title : response.statusText;
  const detail = typeof problem?.detail === 'string' ? problem.detail : text.slice(0, 300);
  return new ApiError(
    `${method} ${ADMIN_PATH}${path} failed: ${response.status} ${title}${detail ? `: ${detail}` : ''}`,
    response.status,
    problem,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
