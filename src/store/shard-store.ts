/**
 * Shards a hot identity over several objects (`shard-rules.ts`): a `fast` check of an identity
 * whose every window is large goes to the shard this isolate is on now, with each limit that
 * shard's part; its answer is read back as the whole identity's. A read fans out to every shard
 * and sums them. Exact checks, concurrency limits, origin charges and small limits pass as they
 * are: sharding trades exactness per object for load, which only `fast` has already traded.
 *
 * Bound (in the README): every shard holds its own part, so together they allow at most the
 * limit plus what `fast` allows past each shard's part; an isolate switching shards may have
 * optimism outstanding at two of them. Near the limit a shard that got more than its share
 * refuses while another still has room: measured (`npm run sim -- --modes fast --big-limit
 * 1250000`, 96% used) 2.55% of the identity's requests falsely rejected, 1.45% unsharded.
 */
import {
  type CheckOutcome,
  type CheckRequest,
  type CounterStore,
  type ReleaseRequest,
  type WindowSpec,
  windowState,
} from '../limiter/contract';
import { derivedRequest } from './decision-path';
import {
  dwellMs,
  shardAt,
  shardCount,
  shardIdentity,
  shardWindows,
  summedState,
  wholeState,
} from './shard-rules';

/** The endpoint rule a window comes from, if it is a policy's window that has one. */
const ruleOf = (w: WindowSpec): string | undefined =>
  'rule' in w && typeof w.rule === 'string' ? w.rule : undefined;

/** `request` as shard `index` of `count` gets it: its identity, each window's part. */
const onShard = (
  request: CheckRequest,
  windows: readonly WindowSpec[],
  count: number,
  index: number,
): CheckRequest => ({
  ...request,
  identity: shardIdentity(request.identity, index),
  windows: shardWindows(windows, count, index),
  shard: { of: request.identity, count },
});

/** Options of {@link withShards}. */
export interface ShardOptions {
  /** Uniform numbers in [0, 1): drawn once, the isolate's phase in the shards' turns [Math.random]. */
  readonly random?: () => number;
  /** The time a check's shard is picked at, when the check pins none. */
  readonly now: () => number;
}

/** Wraps `store` so that `fast` checks of a hot identity go to one of its shards. */
export function withShards(store: CounterStore, options: ShardOptions): CounterStore {
  const random = options.random ?? Math.random;
  // Drawn on the first sharded check: isolates that never meet a hot identity draw nothing.
  let phase: number | undefined;

  const partsOf = (request: CheckRequest, windows: readonly WindowSpec[], count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        store.check(onShard(request, windows, count, index)),
      ),
    );

  /**
   * A read of a sharded identity: its shards' parts summed. With an endpoint rule's small window
   * among them, requests that had it were checked unsharded, their every window at the identity's
   * own object: that object is read too and its counts added to the shards'.
   */
  const read = async (request: CheckRequest, count: number): Promise<CheckOutcome> => {
    const whole = shardCount(request.windows) > 1;
    const sharded = whole ? request.windows : request.windows.filter((w) => !ruleOf(w));
    const [parts, own] = await Promise.all([
      partsOf(request, sharded, count),
      whole ? undefined : store.check(request),
    ]);
    const windows = request.windows.map((w, i) => {
      const at = sharded.indexOf(w);
      const mine = own?.windows[i];
      if (at < 0) return mine ?? windowState(w, 0, own?.now ?? 0, own?.now ?? 0);
      const states = parts.flatMap((p) => p.windows[at] ?? []);
      return summedState(w, mine ? [...states, mine] : states);
    });
    const cost = request.cost ?? 1;
    return {
      allowed: windows.every((w) => w.remaining >= cost),
      now: Math.max(own?.now ?? 0, ...parts.map((p) => p.now)),
      windows,
    };
  };

  return {
    name: store.name,
    async check(request: CheckRequest): Promise<CheckOutcome> {
      if (!request.fast || request.consume === 'force') return store.check(request);
      if (request.consume === false) {
        const count = shardCount(request.windows.filter((w) => !ruleOf(w)));
        return count === 1 ? store.check(request) : read(request, count);
      }
      const count = shardCount(request.windows);
      if (count === 1) return store.check(request);
      phase ??= random();
      const at = request.now ?? options.now();
      const index = shardAt(at, count, dwellMs(request.windows, count), phase);
      const part = derivedRequest(onShard(request, request.windows, count, index), request);
      const outcome = await store.check(part);
      return {
        ...outcome,
        windows: outcome.windows.map((part, i) => {
          const whole = request.windows[i];
          return whole ? wholeState(whole, part) : part;
        }),
      };
    },
    ...(store.release
      ? { release: (r: ReleaseRequest) => store.release?.(r) ?? Promise.resolve() }
      : {}),
  };
}
