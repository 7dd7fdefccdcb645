/** Where the worker's API lives: `?api=` beats `config.json` beats the build-time default (pure). */
import * as z from 'zod/mini';

/** Used when nothing else is configured: `wrangler dev`'s default address. */
export const DEFAULT_API_BASE = 'http://127.0.0.1:8787';
/** The rate-limit documentation; matches the worker's default DOCS_URL. */
export const DEFAULT_DOCS_URL = 'https://edgelimit.dev/docs/rate-limits';

/** The resolved runtime configuration. */
export interface DashboardConfig {
  readonly apiBase: string;
  readonly docsUrl: string;
  /** Where `apiBase` came from; a `query` base is shown as a warning before anyone signs in. */
  readonly apiSource: 'query' | 'config.json' | 'build' | 'default';
}

const httpUrl = z.string().check(
  z.trim(),
  z.refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL'),
);

const configFileSchema = z.object({
  apiBase: z.optional(httpUrl),
  docsUrl: z.optional(httpUrl),
});

/** Drops a trailing slash so paths can be appended with `${base}/_edgelimit/...`. */
export function normalizeBase(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * Picks the API base and docs URL from the inputs, in order of precedence.
 * Pure so it can be tested; `loadConfig` (load-config.ts) gathers the inputs in the browser.
 * @example resolveConfig({ query: 'https://api.example.com/' }) // apiBase "https://api.example.com"
 */
export function resolveConfig(inputs: {
  query?: string | null;
  file?: unknown;
  buildApi?: string;
  buildDocs?: string;
}): DashboardConfig {
  const file = configFileSchema.safeParse(inputs.file ?? {});
  const fromFile = file.success ? file.data : {};
  const query = inputs.query ? httpUrl.safeParse(inputs.query) : undefined;
  const build = inputs.buildApi ? httpUrl.safeParse(inputs.buildApi) : undefined;
  const buildDocs = inputs.buildDocs ? httpUrl.safeParse(inputs.buildDocs) : undefined;
  const docsUrl = fromFile.docsUrl ?? (buildDocs?.success ? buildDocs.data : DEFAULT_DOCS_URL);
  if (query?.success) return { apiBase: normalizeBase(query.data), docsUrl, apiSource: 'query' };
  if (fromFile.apiBase) {
    return { apiBase: normalizeBase(fromFile.apiBase), docsUrl, apiSource: 'config.json' };
  }
  if (build?.success) return { apiBase: normalizeBase(build.data), docsUrl, apiSource: 'build' };
  return { apiBase: DEFAULT_API_BASE, docsUrl, apiSource: 'default' };
}
