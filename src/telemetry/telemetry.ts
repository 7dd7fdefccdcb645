/** The telemetry port: listens to decisions; never changes or delays them (runs in waitUntil). */
import type { Caller } from '../identity/identify';
import type { Decision } from '../limiter/decide';

/** One decided request, as telemetry sees it. */
export interface DecisionEvent {
  readonly decision: Decision;
  /** The verified caller; `undefined` when identification failed (401 path). */
  readonly caller?: Caller;
  /** Client address when there is no verified caller (hashed before it is recorded anywhere). */
  readonly clientIp?: string;
  readonly tier: string;
  readonly method: string;
  readonly path: string;
  /** Status the client got (origin's status when forwarded). */
  readonly status: number;
  /** Units the origin charged after the response (`X-Edgelimit-Charge`), when it did. */
  readonly charged?: number;
}

/** States of the circuit breaker around a counter store. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker as it stands: its state and since when (`null` while closed from the start). */
export interface BreakerStatus {
  readonly state: BreakerState;
  readonly since: number | null;
}

/** A circuit breaker transition, as the hot path reports it. */
export interface BreakerChange {
  /** Store the breaker guards, e.g. `redis`. */
  readonly store: string;
  readonly state: BreakerState;
  /** Epoch ms of the transition. */
  readonly at: number;
}

/** An alert about configuration or a customer's request, raised outside the decision path. */
export interface OperatorAlert {
  readonly kind: 'config-error' | 'increase-request' | 'origin-charge';
  readonly customerId?: string;
  readonly message: string;
}

/** Where decisions go: Analytics Engine, usage aggregates, alerts. */
export interface Telemetry {
  /** Called once per request, inside `waitUntil`; must not throw. */
  onDecision(event: DecisionEvent): Promise<void>;
  /** Called on breaker transitions, inside `waitUntil`; must not throw. */
  onBreakerChange?(change: BreakerChange): Promise<void>;
  /**
   * Records and delivers an operator alert (deduplicated per message per hour for config errors);
   * resolves when delivery is done, so call it from `waitUntil`. Must not throw.
   */
  raiseAlert?(alert: OperatorAlert): Promise<void>;
}

/** Telemetry that does nothing (tests of pure paths, benchmarks of the bare limiter). */
export const noTelemetry: Telemetry = { onDecision: async () => {} };
