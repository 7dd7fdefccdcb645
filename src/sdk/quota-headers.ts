/**
 * Reads the quota a response announces, from draft-ietf-httpapi-ratelimit-headers-11
 * (`RateLimit-Policy`, `RateLimit`) or the common `X-RateLimit-*` / `RateLimit-*` triple: pure.
 */

/** One quota window as a server last announced it. */
export interface WindowQuota {
  /** Policy name (`"minute"`), or `default` for the unnamed `X-RateLimit-*` triple. */
  readonly id: string;
  /** Quota units per window, when the server said (`q`, or `X-RateLimit-Limit`). */
  readonly limit?: number;
  /** Window length in seconds, when the server said (`w`). */
  readonly windowSeconds?: number;
  /** Units left when the response was sent. */
  readonly remaining: number;
  /**
   * Epoch ms when more quota next becomes available: draft-11's `t` (seconds until additional
   * quota) added to the time the response was seen, or `X-RateLimit-Reset`.
   */
  readonly resetAt: number;
}

/** A parsed Structured Field list item: its bare value and parameters. */
interface SfItem {
  readonly value: string;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * The windows `headers` announce, seen at `now` (epoch ms); empty when there are none.
 * draft-11 fields win when present; otherwise the `X-RateLimit-*` (or `RateLimit-Limit/-Remaining/
 * -Reset`) triple becomes one window named `default`.
 * @example quotaFromHeaders(response.headers, Date.now())
 */
export function quotaFromHeaders(headers: Headers, now: number): WindowQuota[] {
  const fields = headers.get('ratelimit');
  if (fields) {
    const policies = new Map<string, SfItem>();
    for (const item of parseSfList(headers.get('ratelimit-policy') ?? '')) {
      policies.set(item.value, item);
    }
    const windows: WindowQuota[] = [];
    for (const item of parseSfList(fields)) {
      const remaining = integer(item.params.get('r'));
      if (remaining === undefined) continue;
      const policy = policies.get(item.value);
      const limit = integer(policy?.params.get('q'));
      const windowSeconds = integer(policy?.params.get('w'));
      windows.push({
        id: item.value,
        remaining,
        resetAt: now + (integer(item.params.get('t')) ?? 0) * 1000,
        ...(limit !== undefined ? { limit } : {}),
        ...(windowSeconds !== undefined ? { windowSeconds } : {}),
      });
    }
    if (windows.length) return windows;
  }
  const remaining = integer(header(headers, 'remaining'));
  if (remaining === undefined) return [];
  const limit = integer(header(headers, 'limit'));
  const reset = integer(header(headers, 'reset'));
  return [
    {
      id: 'default',
      remaining,
      resetAt: reset === undefined ? now : resetInstant(reset, now),
      ...(limit !== undefined ? { limit } : {}),
    },
  ];
}

/**
 * Epoch ms of a `Reset` value. Servers disagree on its unit, so it is read by size: below 10^9
 * it is seconds from now (IETF drafts up to 07), below 10^12 Unix seconds (GitHub, edgelimit),
 * above that Unix milliseconds.
 */
export function resetInstant(value: number, now: number): number {
  if (value < 1e9) return now + value * 1000;
  if (value < 1e12) return value * 1000;
  return value;
}

/**
 * Milliseconds a `Retry-After` value asks to wait (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date); `undefined` when absent or unreadable.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function header(headers: Headers, name: string): string | null {
  return headers.get(`x-ratelimit-${name}`) ?? headers.get(`ratelimit-${name}`);
}

function integer(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * A lenient RFC 8941 list parser: items are sf-strings or tokens with `;key=value` parameters.
 * Members it cannot read are skipped rather than failing the whole field.
 */
export function parseSfList(field: string): SfItem[] {
  const items: SfItem[] = [];
  let i = 0;
  const skipSpace = () => {
    while (field[i] === ' ' || field[i] === '\t') i++;
  };
  const bare = (): string | undefined => {
    if (field[i] === '"') {
      let out = '';
      i++;
      while (i < field.length) {
        const ch = field[i];
        if (ch === '\\') {
          out += field[i + 1] ?? '';
          i += 2;
        } else if (ch === '"') {
          i++;
          return out;
        } else {
          out += ch;
          i++;
        }
      }
      return undefined;
    }
    const match = /^[A-Za-z0-9*_.:/%!#$&'+^`|~-]+/.exec(field.slice(i));
    if (!match) return undefined;
    i += match[0].length;
    return match[0];
  };
  while (i < field.length) {
    skipSpace();
    const value = bare();
    const params = new Map<string, string>();
    while (value !== undefined && field[i] === ';') {
      i++;
      skipSpace();
      const key = /^[a-z*][a-z0-9_.*-]*/.exec(field.slice(i))?.[0];
      if (!key) break;
      i += key.length;
      let paramValue = '?1';
      if (field[i] === '=') {
        i++;
        paramValue = bare() ?? '';
      }
      params.set(key, paramValue);
    }
    if (value !== undefined) items.push({ value, params });
    // Skip to the next member, whatever is left of this one.
    while (i < field.length && field[i] !== ',') i++;
    i++;
  }
  return items;
}
