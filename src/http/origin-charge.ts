/**
 * Charging what the origin reports after the response: `X-Edgelimit-Charge: <n>` from the origin
 * is recorded in the windows marked `"charge": "origin"` (debt allowed), stripped from the client
 * response, and never trusted when it is not a plain integer within {@link MAX_ORIGIN_CHARGE}.
 */
import type { PolicyWindow } from '../limiter/contract';
import type { Decision, WindowResult } from '../limiter/decide';
import type { Services } from '../services';
import { log } from '../telemetry/log';
import { rateLimitHeaders } from './rate-limit-headers';

/** The header an origin charges with; only the worker ever reads it. */
export const CHARGE_HEADER = 'X-Edgelimit-Charge';

/** The largest charge believed from one response: the largest limit a window may have. */
export const MAX_ORIGIN_CHARGE = 1_000_000_000;

/** What the worker owes the origin-charged windows of one allowed request. */
export interface ChargePlan {
  readonly identity: string;
  /** The windows the origin charges (`charge: "origin"`). */
  readonly windows: readonly PolicyWindow[];
  /** Charged when the origin sends no valid charge: the request's own cost. */
  readonly cost: number;
  readonly decision: Decision;
}

/** A charge header read: its units, or why it was not believed. */
export type ParsedCharge =
  | { readonly ok: true; readonly units: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads `X-Edgelimit-Charge`: a non-negative integer in plain decimal digits, at most
 * {@link MAX_ORIGIN_CHARGE}. `undefined` when the origin sent none.
 * @example parseCharge('500') // { ok: true, units: 500 }
 */
export function parseCharge(value: string | null): ParsedCharge | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (!/^\d{1,10}$/.test(text)) {
    return {
      ok: false,
      reason: `not a non-negative integer: ${JSON.stringify(value.slice(0, 40))}`,
    };
  }
  const units = Number(text);
  if (units > MAX_ORIGIN_CHARGE) {
    return { ok: false, reason: `${units} is above the cap of ${MAX_ORIGIN_CHARGE}` };
  }
  return { ok: true, units };
}

/** What a charge did: units recorded, and the quota headers after it. */
export interface ChargeResult {
  readonly units: number;
  readonly headers: Record<string, string>;
  /** Why the origin's header was ignored, when it was. */
  readonly ignored?: string;
}

/**
 * Records the origin's charge (or the request's cost when it sent no valid one) in the planned
 * windows, whether or not they have room: a charge is for work already done. Returns the quota
 * headers as they stand after it. A malformed charge is logged and alerted; a store failure is
 * logged, and the request keeps the headers it had.
 */
export async function applyCharge(
  services: Services,
  plan: ChargePlan,
  header: string | null,
  customerId: string | undefined,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<ChargeResult> {
  const parsed = parseCharge(header);
  let units = plan.cost;
  let ignored: string | undefined;
  if (parsed?.ok) units = parsed.units;
  else if (parsed) {
    ignored = parsed.reason;
    log('origin-charge-rejected', { customerId, reason: parsed.reason, charged: units }, 'warn');
    waitUntil(
      services.alert({
        kind: 'origin-charge',
        ...(customerId ? { customerId } : {}),
        message: `The origin sent ${CHARGE_HEADER} ${parsed.reason}; it was ignored and the request's cost (${units}) charged instead.`,
      }),
    );
  }
  const unchanged = {
    units: 0,
    headers: rateLimitHeaders(plan.decision),
    ...(ignored ? { ignored } : {}),
  };
  if (units === 0) return unchanged;
  try {
    const outcome = await services.counters.check({
      identity: plan.identity,
      windows: plan.windows.map(({ charge: _charge, ...w }) => w),
      cost: units,
      consume: 'force',
    });
    const after = new Map(outcome.windows.map((w) => [w.id, w]));
    const windows: WindowResult[] = plan.decision.windows.map((w) => {
      const state = after.get(w.id);
      return state ? { ...w, ...state } : w;
    });
    const decision = { ...plan.decision, now: outcome.now, windows };
    return { units, headers: rateLimitHeaders(decision), ...(ignored ? { ignored } : {}) };
  } catch (error) {
    log(
      'store-error',
      { store: services.counters.name, operation: 'charge', message: String(error) },
      'error',
    );
    return unchanged;
  }
}
