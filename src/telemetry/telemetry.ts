/** The telemetry port: listens to decisions; never changes or delays them (runs in waitUntil). */
import type { Caller } from '../identity/identify';
import type { Decision } from '../limiter/decide';

/** One decided request, as telemetry sees it. */
export interface DecisionEvent {
  readonly decision: Decision;
  /** The verified caller; `undefined` when identification failed (401 path). */
  readonly caller?: Caller;
  readonly tier: string;
  readonly method: string;
  readonly path: string;
  /** Status the client got (origin's status when forwarded). */
  readonly status: number;
}

/** Where decisions go: Analytics Engine, usage aggregates, alerts. */
export interface Telemetry {
  /** Called once per request, inside `waitUntil`; must not throw. */
  onDecision(event: DecisionEvent): Promise<void>;
}

/** Telemetry that does nothing (tests of pure paths, benchmarks of the bare limiter). */
export const noTelemetry: Telemetry = { onDecision: async () => {} };
