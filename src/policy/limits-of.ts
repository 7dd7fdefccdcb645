/** Turns a list of limits into windows with ids: shared by tier limits, rules and guards. */

import type { PolicyWindow } from '../limiter/contract';
import type { Limit } from './limit-spec';
import { parseWindow, windowName } from './limit-spec';

/** Windows for `limits`, ids prefixed with `prefix:` when given. */
export function limitsOf(limits: readonly Limit[], prefix?: string): PolicyWindow[] {
  return limits.map((l) => ({
    id: prefix ? `${prefix}:${windowName(l.window)}` : windowName(l.window),
    limit: l.limit,
    windowMs: parseWindow(l.window) ?? 60_000,
    window: l.window,
  }));
}
