/** Parses the CLI's value syntaxes: `3/5s` limits, endpoint rules, `+2h` times, throttling. */
import { type Limit, limitSchema } from '../../src/policy/limit-spec';
import {
  concurrencySchema,
  type EndpointRule,
  endpointRuleSchema,
  MAX_CONCURRENCY,
  type ThrottleConfig,
  throttleSchema,
} from '../../src/policy/records';
import { UsageError } from './errors';

/**
 * Parses `<limit>/<window>`, e.g. `100/1m`, `10000/1d`.
 * @example parseLimit('3/5s') // { limit: 3, window: '5s' }
 */
export function parseLimit(text: string, option = '--limit'): Limit {
  const match = /^(\d+)\/(\w+)$/.exec(text.trim());
  const parsed = match
    ? limitSchema.safeParse({ limit: Number(match[1]), window: match[2] })
    : null;
  if (!parsed?.success) {
    throw new UsageError(
      `${option} ${JSON.stringify(text)}: expected <count>/<window> with a positive count and a ` +
        'window of <n>s, <n>m, <n>h or <n>d (at most 31 days), e.g. 100/1m or 10000/1d',
    );
  }
  return parsed.data;
}

/** Parses several limits, one per `--limit`; each window may appear once. */
export function parseLimits(texts: readonly string[], option = '--limit'): Limit[] {
  const limits = texts.flatMap((t) => t.split(',')).map((t) => parseLimit(t, option));
  const windows = limits.map((l) => l.window);
  const twice = windows.find((w, i) => windows.indexOf(w) !== i);
  if (twice) throw new UsageError(`${option}: window ${twice} is given twice`);
  if (limits.length > 8) throw new UsageError(`${option}: at most 8 limits`);
  return limits;
}

/**
 * Parses an endpoint rule `<id>:<METHOD>:<path>:<limits>[:shadow]`; `<limits>` is one or more
 * `<count>/<window>` joined by commas, and the path may hold `:param` segments.
 * @example parseEndpoint('search:POST:/v1/search:10/1m') // { id: 'search', method: 'POST', ... }
 */
export function parseEndpoint(text: string): EndpointRule {
  const parts = text.split(':');
  let shadow = false;
  if (parts.at(-1) === 'shadow') {
    shadow = true;
    parts.pop();
  }
  const [id, method, ...rest] = parts;
  const limitsText = rest.pop();
  const path = rest.join(':');
  const example = "e.g. 'search:POST:/v1/search:10/1m' or 'export:GET:/v1/export:5/1h:shadow'";
  if (!id || !method || !path || !limitsText) {
    throw new UsageError(
      `--endpoint ${JSON.stringify(text)}: expected <id>:<METHOD>:<path>:<limits>[:shadow], ${example}`,
    );
  }
  const rule = endpointRuleSchema.safeParse({
    id,
    method: method.toUpperCase(),
    path,
    limits: parseLimits(limitsText.split(','), '--endpoint'),
    ...(shadow ? { shadow: true } : {}),
  });
  if (!rule.success) {
    const issue = rule.error.issues[0];
    throw new UsageError(
      `--endpoint ${JSON.stringify(text)}: ${issue?.path.join('.') || 'rule'} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return rule.data;
}

const RELATIVE = /^\+(\d+)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * Parses an expiry: an ISO 8601 date-time with offset (`2030-01-31T18:00:00Z`) or a time from
 * now (`+30m`, `+2h`, `+3d`, `+1w`). Returns ISO 8601 in UTC; must lie in the future.
 */
export function parseUntil(text: string, now: number): string {
  const relative = RELATIVE.exec(text.trim());
  let at: number;
  if (relative) {
    at = now + Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    at = Date.parse(text);
  } else {
    at = Number.NaN;
  }
  if (!Number.isFinite(at)) {
    throw new UsageError(
      `--until ${JSON.stringify(text)}: expected an ISO date-time with offset ` +
        '(2030-01-31T18:00:00Z) or a time from now (+30m, +2h, +3d, +1w)',
    );
  }
  if (at <= now) throw new UsageError(`--until ${JSON.stringify(text)}: must be in the future`);
  return new Date(at).toISOString();
}

/**
 * Parses `--throttle <softAt>:<maxDelayMs>` (`0.8:500`, `80%:500`), or `off`.
 * @example parseThrottle('80%:500') // { softAt: 0.8, maxDelayMs: 500 }
 */
export function parseThrottle(text: string): ThrottleConfig | 'off' {
  if (text === 'off') return 'off';
  const match = /^(\d+(?:\.\d+)?)(%?):(\d+)(?:ms)?$/.exec(text.trim());
  const soft = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  const parsed = throttleSchema.safeParse({ softAt: soft, maxDelayMs: Number(match?.[3]) });
  if (!parsed.success) {
    throw new UsageError(
      `--throttle ${JSON.stringify(text)}: expected <softAt>:<maxDelayMs> with softAt between 0 ` +
        'and 1 (or 1%-99%) and maxDelayMs from 0 to 2000, e.g. 0.8:500, or off',
    );
  }
  return parsed.data;
}

/** Parses `--concurrency <n>` (requests in flight at once), or `off`. */
export function parseConcurrency(text: string): number | 'off' {
  if (text.trim() === 'off') return 'off';
  const parsed = concurrencySchema.safeParse(Number(text.trim()));
  if (!/^\d+$/.test(text.trim()) || !parsed.success) {
    throw new UsageError(
      `--concurrency ${JSON.stringify(text)}: expected a whole number from 1 to ${MAX_CONCURRENCY}, or off`,
    );
  }
  return parsed.data;
}
