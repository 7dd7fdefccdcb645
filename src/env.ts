/** The worker's bindings, secrets and settings, validated once per isolate. */
import { z } from 'zod';
import { checkToken, parseServiceTokens, type TokenEntry } from './identity/service-tokens';
import { describeIssues } from './policy/records';

/** Secrets: set with `wrangler secret put NAME`, never in wrangler.toml. */
export interface Secrets {
  /** Bearer token of the admin API. */
  ADMIN_TOKEN?: string;
  /** Internal service tokens: comma-separated `token` or `name=token`. */
  SERVICE_TOKENS?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Slack-compatible webhook for alerts. */
  ALERT_WEBHOOK_URL?: string;
  /** Analytics Engine SQL API credentials (production usage history). */
  CF_ACCOUNT_ID?: string;
  CF_API_TOKEN?: string;
  /** Optional tuning, as strings like every var. */
  STORE_BUDGET_MS?: string;
  /**
   * Consistency of every policy that does not choose its own: `fast` (the default: decisions from
   * leases in the isolate) or `exact` (one round trip to the identity's object per request).
   */
  CONSISTENCY?: string;
  /**
   * Longest a `fast` request with nothing to decide from (no lease, no usable answer) waits for
   * the identity's object, ms; default 250 (about a p99 round trip between locations).
   */
  LEASE_WAIT_MS?: string;
  /**
   * `false` turns off the timer that gives back units an isolate leased and left unused when no
   * next request would (`store/return-timer.ts`); default `true`. The test suite turns it off:
   * its helper waits for `waitUntil`, where the timer lives.
   */
  LEASE_RETURN_TIMER?: string;
  /** `true`: one `decision` log line per proxied request (`npm run dev` sets it). */
  LOG_DECISIONS?: string;
  CONFIG_TTL_MS?: string;
  /** Approaching-limit alert threshold, `0.8` or `80`; default 0.8. */
  ALERT_THRESHOLD?: string;
  /** Circuit breaker: consecutive store failures that open it, and how long it stays open. */
  BREAKER_FAILURES?: string;
  BREAKER_OPEN_MS?: string;
  /** How long the origin has to send its response headers before a 504; default 30000. */
  ORIGIN_TIMEOUT_MS?: string;
  /**
   * Headers API keys are read from, comma-separated; default `x-api-key,authorization`
   * (`authorization` = `Authorization: Bearer`). Drop `authorization` when clients send Bearer
   * tokens meant for the origin.
   */
  API_KEY_HEADERS?: string;
  /**
   * IPv6 prefix length anonymous callers and failed attempts are counted by; default 64 (one
   * subscriber's usual allocation), 128 = per address.
   */
  ANON_IPV6_PREFIX?: string;
  /** Lease of a concurrency slot, ms, at least ORIGIN_TIMEOUT_MS; default 60000. */
  SLOT_LEASE_MS?: string;
}

/** Everything the worker receives as `env`. */
export type Bindings = Env & Secrets;

const STORE_MODES = ['durable-object', 'redis', 'hybrid', 'memory'] as const;
export type StoreMode = (typeof STORE_MODES)[number];

/** Consistency of a deployment that does not set `CONSISTENCY` (wrangler.toml ships it too). */
export const DEFAULT_CONSISTENCY = 'fast';

const settingsSchema = z.object({
  ORIGIN_URL: z.union([z.literal(''), z.literal('demo'), z.url({ protocol: /^https?$/ })]),
  LIMITER_STORE: z.enum(STORE_MODES),
  RESERVED_PREFIX: z.string().regex(/^\/[A-Za-z0-9_-]+$/, 'must look like /_edgelimit'),
  // '' (the default) links to the worker's own page under the reserved prefix.
  DOCS_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]).default(''),
  DASHBOARD_ORIGIN: z.string(),
  SEED_DEMO: z.enum(['true', 'false']),
  LOG_DECISIONS: z.enum(['true', 'false']).default('false'),
  STORE_BUDGET_MS: z.coerce.number().int().min(1).max(10_000).default(50),
  CONSISTENCY: z.enum(['exact', 'fast']).default(DEFAULT_CONSISTENCY),
  LEASE_WAIT_MS: z.coerce.number().int().min(1).max(10_000).default(250),
  LEASE_RETURN_TIMER: z.enum(['true', 'false']).default('true'),
  CONFIG_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  // A share of the limit (0.8) or a percentage (80).
  ALERT_THRESHOLD: z.coerce.number().gt(0).max(100).default(0.8),
  BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  BREAKER_OPEN_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
  ORIGIN_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(30_000),
  ANON_IPV6_PREFIX: z.coerce.number().int().min(16).max(128).default(64),
  API_KEY_HEADERS: z
    .string()
    .default('x-api-key,authorization')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()))
    .refine((list) => list.every((h) => /^[a-z0-9-]{1,64}$/.test(h)), {
      message: 'must be comma-separated header names (authorization = Authorization: Bearer)',
    })
    .refine((list) => !list.includes('x-service-token'), {
      message: 'cannot include x-service-token (that header carries service tokens)',
    }),
  SLOT_LEASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
});

/** Settings parsed from vars and secrets. */
export interface Settings {
  readonly originUrl: '' | 'demo' | string;
  readonly storeMode: StoreMode;
  readonly prefix: string;
  /** `DOCS_URL`, or `''` for the worker's own page (resolve with `docsUrlFor`). */
  readonly docsUrl: string;
  /** Origins allowed by CORS on the usage API; `*` allows any. */
  readonly dashboardOrigins: readonly string[];
  readonly seedDemo: boolean;
  /** Log one `decision` line per proxied request (local development). */
  readonly logDecisions: boolean;
  readonly storeBudgetMs: number;
  /** Consistency of policies that set none (`CONSISTENCY`). */
  readonly consistency: 'exact' | 'fast';
  /** Longest a `fast` request waits for a lease or an answer (`LEASE_WAIT_MS`). */
  readonly leaseWaitMs: number;
  /** Whether a quiet isolate returns unused lease units from a timer (`LEASE_RETURN_TIMER`). */
  readonly leaseReturnTimer: boolean;
  readonly configTtlMs: number;
  /** Share of a limit (0..1] at which a customer is alerted as approaching it; default 0.8. */
  readonly alertThreshold: number;
  readonly breaker: { readonly failures: number; readonly openMs: number };
  /** Time the origin has to send its response headers; past it, a 504. */
  readonly originTimeoutMs: number;
  /** Lowercase names of the headers API keys are read from, in order. */
  readonly apiKeyHeaders: readonly string[];
  /** IPv6 prefix length anonymous callers and failed attempts are counted by. */
  readonly anonymousIpv6Prefix: number;
  /** How long a concurrency slot is held at most, should its request never give it back. */
  readonly slotLeaseMs: number;
  readonly redis?: { readonly url: string; readonly token: string };
  /** Parsed `SERVICE_TOKENS` (validated: no empty or short token). */
  readonly serviceTokens: readonly TokenEntry[];
  /** `ADMIN_TOKEN`, verbatim (never split); absent = admin API disabled. */
  readonly adminToken?: string;
}

/** A setting that cannot be used; the message names the variable. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

const cache = new WeakMap<object, Settings>();

/** Parses and caches the settings for this `env`; throws {@link SettingsError} naming bad vars. */
export function readSettings(env: Bindings): Settings {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success)
    throw new SettingsError(`invalid configuration: ${describeIssues(parsed.error)}`);
  const v = parsed.data;
  const needsRedis = v.LIMITER_STORE === 'redis' || v.LIMITER_STORE === 'hybrid';
  if (needsRedis && !(v.UPSTASH_REDIS_REST_URL && v.UPSTASH_REDIS_REST_TOKEN)) {
    throw new SettingsError(
      `invalid configuration: LIMITER_STORE=${v.LIMITER_STORE} needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN`,
    );
  }
  if (v.SLOT_LEASE_MS < v.ORIGIN_TIMEOUT_MS) {
    throw new SettingsError(
      `invalid configuration: SLOT_LEASE_MS (${v.SLOT_LEASE_MS}) must be at least ORIGIN_TIMEOUT_MS (${v.ORIGIN_TIMEOUT_MS}), or a slow request would lose its slot while the origin still works on it`,
    );
  }
  const serviceTokens = tokenSetting('SERVICE_TOKENS', () =>
    parseServiceTokens(env.SERVICE_TOKENS),
  );
  // Taken verbatim: a comma or `=` in it is part of the one admin token, never a separator.
  const adminToken = env.ADMIN_TOKEN;
  if (adminToken !== undefined)
    tokenSetting('ADMIN_TOKEN', () => checkToken(adminToken, 'the value'));
  const settings: Settings = {
    serviceTokens,
    ...(adminToken !== undefined ? { adminToken } : {}),
    originUrl: v.ORIGIN_URL,
    storeMode: v.LIMITER_STORE,
    prefix: v.RESERVED_PREFIX,
    docsUrl: v.DOCS_URL,
    dashboardOrigins: v.DASHBOARD_ORIGIN.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    seedDemo: v.SEED_DEMO === 'true',
    logDecisions: v.LOG_DECISIONS === 'true',
    storeBudgetMs: v.STORE_BUDGET_MS,
    consistency: v.CONSISTENCY,
    leaseWaitMs: v.LEASE_WAIT_MS,
    leaseReturnTimer: v.LEASE_RETURN_TIMER === 'true',
    configTtlMs: v.CONFIG_TTL_MS,
    alertThreshold: v.ALERT_THRESHOLD > 1 ? v.ALERT_THRESHOLD / 100 : v.ALERT_THRESHOLD,
    breaker: { failures: v.BREAKER_FAILURES, openMs: v.BREAKER_OPEN_MS },
    originTimeoutMs: v.ORIGIN_TIMEOUT_MS,
    slotLeaseMs: v.SLOT_LEASE_MS,
    apiKeyHeaders: v.API_KEY_HEADERS,
    anonymousIpv6Prefix: v.ANON_IPV6_PREFIX,
    ...(v.UPSTASH_REDIS_REST_URL && v.UPSTASH_REDIS_REST_TOKEN
      ? { redis: { url: v.UPSTASH_REDIS_REST_URL, token: v.UPSTASH_REDIS_REST_TOKEN } }
      : {}),
  };
  cache.set(env, settings);
  return settings;
}

/** Runs a token check, turning its error into a SettingsError naming the variable. */
function tokenSetting<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SettingsError(`invalid configuration: ${name}: ${message}`);
  }
}
