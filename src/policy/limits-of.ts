/** Turns a list of limits into windows with ids: shared by tier limits, rules and guards. */

import type { PolicyWindow } from '../limiter/contract';
import type { Limit } from './limit-spec';
import { limitId, parseWindow } from './limit-spec';

/** Windows for `limits`, ids prefixed with `prefix:` when given. */
export function limitsOf(limits: readonly Limit[], prefix?: string): PolicyWindow[] {
  return limits.map((l) => ({
    id: prefix ? `${prefix}:${limitId(l)}` : limitId(l),
    limit: l.limit,
    windowMs: parseWindow(l.window) ?? 60_000,
    window: l.window,
    ...(l.charge ? { charge: l.charge } : {}),
    ...(l.unit ? { unit: l.unit } : {}),
  }));
}
