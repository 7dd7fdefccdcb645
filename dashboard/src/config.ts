/** Where the worker's API lives: `?api=` beats `config.json` beats the build-time default (pure). */
import * as z from 'zod/mini';

/** Used when nothing else is configured: `wrangler dev`'s default address. */
export const DEFAULT_API_BASE = 'http://127.0.0.1:8787';
/** The worker's own rate-limit page, where its problem bodies link by default (DOCS_URL ""). */
export const DOCS_PAGE_PATH = '/_edgelimit/docs/rate-limits';

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
  const docs = fromFile.docsUrl ?? (buildDocs?.success ? buildDocs.data : undefined);
  const pick = (apiBase: string, apiSource: DashboardConfig['apiSource']): DashboardConfig => ({
    apiBase,
    docsUrl: docs ?? `${apiBase}${DOCS_PAGE_PATH}`,
    apiSource,
  });
  if (query?.success) return pick(normalizeBase(query.data), 'query');
  if (fromFile.apiBase) return pick(normalizeBase(fromFile.apiBase), 'config.json');
  if (build?.success) return pick(normalizeBase(build.data), 'build');
  return pick(DEFAULT_API_BASE, 'default');
}
