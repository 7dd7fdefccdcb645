/** Gathers the runtime configuration in the browser: the query string, config.json and the build. */
import { type DashboardConfig, resolveConfig } from './config';

/**
 * Reads `?api=`, then `config.json` next to index.html (a missing or non-JSON file — Pages answers
 * unknown paths with index.html — is ignored), then `VITE_EDGELIMIT_API` from the build.
 */
export async function loadConfig(): Promise<DashboardConfig> {
  const query = new URLSearchParams(window.location.search).get('api');
  let file: unknown;
  try {
    const res = await fetch(new URL('config.json', window.location.href), { cache: 'no-store' });
    if (res.ok && (res.headers.get('content-type') ?? '').includes('json')) file = await res.json();
  } catch {
    // No config.json: fall through to the build-time default.
  }
  return resolveConfig({
    query,
    file,
    buildApi: import.meta.env.VITE_EDGELIMIT_API,
    buildDocs: import.meta.env.VITE_EDGELIMIT_DOCS,
  });
}
