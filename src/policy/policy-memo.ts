/**
 * Remembers resolved policies per isolate, so a caller's every request does not rebuild the same
 * windows, rules and path matches. Keyed by the identity of the config objects the config cache
 * hands out: a record read again from KV (an edit, or the cache's TTL) is a new object, so a
 * change applies exactly when it did without the memo.
 */
import { BoundedMap } from '../limiter/bounded-map';
import type { Override } from './records';
import { type PolicyInput, type ResolvedPolicy, resolvePolicy } from './resolve-policy';

/** Default bound of a memo: entries, whatever the callers and paths. */
export const MAX_MEMO_ENTRIES = 2_048;

/** Longest path remembered; longer ones are resolved every time (they cost memory, not CPU). */
export const MAX_MEMO_PATH = 256;

interface Memo {
  readonly policy: ResolvedPolicy;
  /** The memo holds while `from <= now < until`: no override starts or stops counting between. */
  readonly from: number;
  readonly until: number;
}

/**
 * The span around `now` in which the same overrides are in force: `activeOverride` takes those
 * whose end is after `now`, so the set changes only at an end. Bounds on both sides, since a
 * pinned test clock may move back.
 */
export function overrideSpan(overrides: readonly Override[] | undefined, now: number) {
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const o of overrides ?? []) {
    const end = Date.parse(o.expiresAt);
    if (Number.isNaN(end)) continue;
    if (end > now) until = Math.min(until, end);
    else from = Math.max(from, end);
  }
  return { from, until };
}

/**
 * A memoized {@link resolvePolicy}: the same answer for the same input, the same object while the
 * config objects and the overrides in force are the same. Callers must not mutate what it returns
 * (the types say readonly).
 * @example const resolve = createPolicyMemo(); resolve({ policy, tier: 'free', method, path, now })
 */
export function createPolicyMemo(max = MAX_MEMO_ENTRIES): (input: PolicyInput) => ResolvedPolicy {
  const memos = new BoundedMap<string, Memo>(max);
  // Numbers for object identities; weak, so a record the config cache dropped is collected.
  const ids = new WeakMap<object, number>();
  let next = 0;
  const idOf = (o: object) => {
    let id = ids.get(o);
    if (id === undefined) {
      id = ++next;
      ids.set(o, id);
    }
    return id;
  };

  return (input) => {
    if (input.path.length > MAX_MEMO_PATH) return resolvePolicy(input);
    const { customer, now } = input;
    // Method, override methods and path come from the caller: each is length-prefixed, so no
    // spelling of one can pass for another combination.
    let key = `${idOf(input.policy)}|${customer ? idOf(customer) : 0}|${input.tier}|`;
    key += `${input.slotLeaseMs ?? ''}|${input.defaultConsistency ?? ''}|`;
    for (const m of [input.method, ...(input.overrideMethods ?? [])]) key += `${m.length}:${m}`;
    key += `|${input.path}`;
    const hit = memos.get(key);
    if (hit && hit.from <= now && now < hit.until) return hit.policy;
    const policy = resolvePolicy(input);
    memos.set(key, { policy, ...overrideSpan(customer?.overrides, now) });
    return policy;
  };
}
