/** Decides one request: checks its windows in the store within a time budget, fails open or closed. */
import type { Clock } from '../clock';
import { withDeadline } from '../deadline';
import {
  type CounterStore,
  isConcurrency,
  type LimitPolicy,
  type PolicyWindow,
  type ReleaseRequest,
  StoreError,
  type WindowState,
} from './contract';
import { newSlotToken } from './slot-token';

/** How a request was decided. */
export type Outcome = 'allowed' | 'rejected' | 'bypassed' | 'failed-open' | 'failed-closed';

/** A window as the store last saw it, with where it came from. */
export type WindowResult = PolicyWindow & WindowState;

/** The decision for one request: everything headers, bodies, metrics and alerts need. */
export interface Decision {
  readonly outcome: Outcome;
  readonly now: number;
  /** Enforced windows. */
  readonly windows: readonly WindowResult[];
  /** Shadow windows: evaluated and reported, never enforced. */
  readonly shadow: readonly (WindowResult & { readonly wouldReject: boolean })[];
  /** Epoch ms when a rejected request may be retried. */
  readonly retryAt?: number;
  /** Units this request counts in every window it is checked against [1]. */
  readonly cost?: number;
  /** Time spent waiting for the store, ms. */
  readonly storeLatencyMs: number;
  readonly store: string;
  readonly error?: StoreError;
  /**
   * The slots this request may hold in its concurrency limits: give them back with
   * `store.release` when the response is over. Present when it took them (allowed) and when the
   * store failed (it may have taken them before failing; a release of nothing is harmless).
   */
  readonly slots?: ReleaseRequest;
}

/** Inputs of {@link decide}. */
export interface DecideInput {
  readonly store: CounterStore;
  readonly identity: string;
  readonly policy: LimitPolicy;
  readonly clock: Clock;
  /**
   * Extra time budget for the store call. The composed store already carries one (see
   * store/compose.ts); pass this only for bare stores.
   */
  readonly budgetMs?: number;
  readonly cost?: number;
  readonly consume?: boolean;
  /** `false` reads concurrency limits without taking a slot; default true. */
  readonly holdSlots?: boolean;
}

/**
 * Checks every enforced window atomically; shadow windows are checked in parallel on their own,
 * so they can never block or delay beyond the enforced call.
 */
export async function decide(input: DecideInput): Promise<Decision> {
  const { store, identity, policy, clock } = input;
  const enforced = policy.windows.filter((w) => !w.shadow);
  const shadowed = policy.windows.filter((w) => w.shadow);
  const started = clock.now();
  const slotWindows = enforced.filter(isConcurrency);
  const takes = input.consume !== false && input.holdSlots !== false;
  const slotToken = slotWindows.length && takes ? newSlotToken() : undefined;
  const slots: ReleaseRequest | undefined =
    slotToken === undefined ? undefined : { identity, windows: slotWindows, slotToken };
  const check = (windows: readonly PolicyWindow[], token?: number) => {
    const pending = store.check({
      identity,
      windows,
      ...(input.cost !== undefined ? { cost: input.cost } : {}),
      ...(input.consume !== undefined ? { consume: input.consume } : {}),
      ...(policy.consistency === 'fast'
        ? policy.failMode === 'open'
          ? { fast: true, failsOpen: true }
          : { fast: true }
        : {}),
      ...(token !== undefined ? { slotToken: token } : {}),
    });
    return input.budgetMs === undefined ? pending : withBudget(pending, input.budgetMs, store.name);
  };

  // Without shadow windows (most policies) the one call is awaited alone: the same outcome as
  // settling both, without a second promise and the allSettled array per request.
  const [main, shadow] = shadowed.length
    ? await Promise.allSettled([
        enforced.length ? check(enforced, slotToken) : Promise.resolve(undefined),
        check(shadowed),
      ])
    : [await settle(enforced.length ? check(enforced, slotToken) : undefined), undefined];
  const storeLatencyMs = Math.max(0, clock.now() - started);
  const shadowOutcome = shadow?.status === 'fulfilled' ? shadow.value : undefined;
  const shadowResults = shadowOutcome
    ? shadowOutcome.windows.map((w, i) => ({
        ...(shadowed[i] as PolicyWindow),
        ...w,
        wouldReject: w.retryAt > shadowOutcome.now,
      }))
    : [];

  if (main.status === 'rejected') {
    const error =
      main.reason instanceof StoreError
        ? main.reason
        : new StoreError(store.name, 'unavailable', String(main.reason));
    const closed = policy.failMode === 'closed' || error.failsClosed;
    return {
      outcome: closed ? 'failed-closed' : 'failed-open',
      now: clock.now(),
      windows: enforced.map((w) => unknownState(w, clock.now())),
      shadow: shadowResults,
      storeLatencyMs,
      store: store.name,
      error,
      ...(closed ? { retryAt: clock.now() + 1000 } : {}),
      ...(slots ? { slots } : {}),
    };
  }
  const result = main.value;
  const now = result?.now ?? clock.now();
  const windows = enforced.map((w, i) => ({
    ...w,
    ...(result?.windows[i] ?? unknownState(w, now)),
  }));
  const allowed = result?.allowed ?? true;
  return {
    outcome: allowed ? 'allowed' : 'rejected',
    now,
    windows,
    shadow: shadowResults,
    storeLatencyMs,
    store: store.name,
    ...(input.cost !== undefined && input.cost !== 1 ? { cost: input.cost } : {}),
    ...(allowed ? {} : { retryAt: Math.max(...windows.map((w) => w.retryAt)) }),
    ...(allowed && slots ? { slots } : {}),
  };
}

/** `Promise.allSettled` of one promise (or a value), without the array. */
async function settle<T>(pending: Promise<T> | T): Promise<PromiseSettledResult<T>> {
  try {
    return { status: 'fulfilled', value: await pending };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/** A window whose count is unknown (the store failed): reported as untouched. */
function unknownState(w: PolicyWindow, now: number): WindowResult {
  return { ...w, used: 0, remaining: w.limit, retryAt: now, resetAt: now };
}

/** Rejects with a timeout StoreError if `promise` takes longer than `ms`. */
export function withBudget<T>(promise: Promise<T>, ms: number, store: string): Promise<T> {
  return withDeadline(promise, ms, () => {
    throw new StoreError(store, 'timeout', `no answer within ${ms} ms`);
  });
}
