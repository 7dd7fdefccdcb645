/** The built-in policy: the default tiers (README, "How a request is decided") and the demo endpoint rule. */
import type { PolicyConfig } from './records';

/**
 * Tier defaults. `enterprise` applies only until a customer record sets its own limits.
 * `POST /v1/search` is the demo's stricter endpoint: 10/min on free, 100/min on pro.
 */
export const DEFAULT_POLICY: PolicyConfig = {
  tiers: {
    free: [
      { limit: 100, window: '1m' },
      { limit: 1000, window: '1d' },
    ],
    pro: [{ limit: 1000, window: '1m' }],
    enterprise: [{ limit: 10_000, window: '1m' }],
    anonymous: [
      { limit: 30, window: '1m' },
      { limit: 300, window: '1d' },
    ],
  },
  endpoints: [
    {
      id: 'search',
      method: 'POST',
      path: '/v1/search',
      limits: {
        free: [{ limit: 10, window: '1m' }],
        pro: [{ limit: 100, window: '1m' }],
        enterprise: [{ limit: 1000, window: '1m' }],
        anonymous: [{ limit: 5, window: '1m' }],
      },
    },
  ],
  keyGuessLimit: [{ limit: 20, window: '1m' }],
};

/** Calls per caller to `/usage` and `/rate_limit` when the policy names none. */
export const DEFAULT_RESERVED_LIMIT = [{ limit: 60, window: '1m' }] as const;

/** CORS preflights per client address when the policy names none. */
export const DEFAULT_PREFLIGHT_LIMIT = [{ limit: 300, window: '1m' }] as const;
