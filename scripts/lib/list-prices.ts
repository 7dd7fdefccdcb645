/**
 * Published list prices the benchmark and the simulation bill with: one dated table, each figure
 * with the page it was read from. Overage rates of the paid plans; the monthly inclusions (10 M
 * Workers requests, 1 M Durable Object requests, ...) are deliberately left out, so a figure per
 * million requests is the marginal cost at scale.
 *
 * Checked on 2026-12-01 against the stored copies of the providers' pages (the `search` tool of
 * this workspace, corpora `docs` and `pages`); re-check before quoting them anywhere else.
 */

/** When every figure below was last checked against its source. */
export const PRICES_CHECKED_ON = '2026-12-01';

/** One billed unit: its price in USD per million units, and where the figure comes from. */
export interface ListPrice {
  readonly usdPerMillion: number;
  readonly unit: string;
  readonly source: string;
  /** What the source says, or does not say, beyond the figure. */
  readonly note?: string;
}

/** The list prices, by what is billed. */
export const LIST_PRICES = {
  upstashCommand: {
    usdPerMillion: 2.0,
    unit: 'Upstash Redis command (pay as you go)',
    source: 'https://upstash.com/pricing/redis ($0.2 per 100K commands)',
    note:
      "Commands run inside a Lua script are billed too: Upstash's own cost table for " +
      '@upstash/ratelimit (https://upstash.com/docs/redis/sdks/ratelimit-ts/costs) counts ' +
      'EVAL plus the PEXPIRE its script runs as separate commands. So we count from ' +
      'INFO commandstats, which lists every command a script ran.',
  },
  durableObjectRequest: {
    usdPerMillion: 0.15,
    unit: 'Durable Object request (each RPC method call, each alarm invocation)',
    source: 'https://developers.cloudflare.com/durable-objects/platform/pricing/',
  },
  durableObjectGbSecond: {
    usdPerMillion: 12.5,
    unit: 'Durable Object duration, GB-s (128 MB per active object, wall clock)',
    source: 'https://developers.cloudflare.com/durable-objects/platform/pricing/',
    note:
      'Billed while the object is active in memory and cannot hibernate, for 128 MB ' +
      'whatever it uses; an object that holds an alarm or a timer cannot hibernate.',
  },
  durableObjectRowWritten: {
    usdPerMillion: 1.0,
    unit: 'SQLite-backed Durable Object row written (each key of a KV-API put or delete)',
    source:
      'https://developers.cloudflare.com/durable-objects/platform/pricing/ (SQLite storage ' +
      'backend); the stored copy of that section was not readable, the same rate is on ' +
      'https://developers.cloudflare.com/d1/platform/pricing/ (D1 bills SQLite rows alike)',
    note:
      'The KV API of a SQLite-backed object stores each key as a row of the hidden ' +
      '__cf_kv table (https://developers.cloudflare.com/durable-objects/api/storage-api/).',
  },
  durableObjectRowRead: {
    usdPerMillion: 0.001,
    unit: 'SQLite-backed Durable Object row read',
    source: 'as rows written (D1 page for the figure)',
  },
  kvRead: {
    usdPerMillion: 0.5,
    unit: 'Workers KV key read (a miss is billed too)',
    source: 'https://developers.cloudflare.com/kv/platform/pricing/',
  },
  workerRequest: {
    usdPerMillion: 0.3,
    unit: 'Workers request (Standard usage model)',
    source:
      'https://developers.cloudflare.com/workers/platform/pricing/ (as quoted on ' +
      'https://developers.cloudflare.com/workflows/reference/pricing/: "identical to Workers ' +
      'Standard pricing", $0.30 per additional million requests)',
    note: 'CPU time ($0.02 per million CPU ms) is not counted: neither harness measures it.',
  },
  analyticsEnginePoint: {
    usdPerMillion: 0.25,
    unit: 'Workers Analytics Engine data point written',
    source: 'https://developers.cloudflare.com/analytics/analytics-engine/pricing/',
  },
} as const satisfies Record<string, ListPrice>;

/** Memory a Durable Object is billed for, GB. */
export const DURABLE_OBJECT_GB = 0.128;

/** Counts of billed units, per request or in total (same unit for every field). */
export interface BilledUnits {
  readonly doRequests: number;
  readonly doRowsWritten: number;
  readonly doRowsRead?: number;
  readonly doGbSeconds?: number;
  readonly redisCommands: number;
  readonly kvReads: number;
  readonly analyticsPoints?: number;
}

/**
 * USD per million requests from billed units per request: the store alone (Durable Objects,
 * Redis, KV) and the total with the Worker's own request and its Analytics Engine point.
 */
export function costPerMillion(perRequest: BilledUnits): { store: number; total: number } {
  const p = LIST_PRICES;
  const store =
    perRequest.doRequests * p.durableObjectRequest.usdPerMillion +
    perRequest.doRowsWritten * p.durableObjectRowWritten.usdPerMillion +
    (perRequest.doRowsRead ?? 0) * p.durableObjectRowRead.usdPerMillion +
    (perRequest.doGbSeconds ?? 0) * p.durableObjectGbSecond.usdPerMillion +
    perRequest.redisCommands * p.upstashCommand.usdPerMillion +
    perRequest.kvReads * p.kvRead.usdPerMillion;
  const total =
    store +
    p.workerRequest.usdPerMillion +
    (perRequest.analyticsPoints ?? 0) * p.analyticsEnginePoint.usdPerMillion;
  return { store, total };
}
