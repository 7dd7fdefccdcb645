/**
 * Concurrency limits as an {@link Algorithm}: slots for requests in flight, decided together with
 * the request's sliding windows (delegated to that algorithm), all or nothing. Requests without a
 * concurrency limit are the sliding window's, untouched: same cells, same script, same reply.
 */
import type { Algorithm, CellChange, Cells } from '../../algorithm';
import {
  type CheckOutcome,
  type CheckRequest,
  isConcurrency,
  StoreError,
  type WindowSpec,
  type WindowState,
} from '../../contract';
import { slidingWindow } from '../sliding-window/algorithm';
import { isSlotKey, slotKey } from './keys';
import { RELEASE_SCRIPT, RELEASE_SHA1, SLOTS_SCRIPT, SLOTS_SHA1 } from './script';
import { expireSlots, heldSlots, slotRetryAt, slotState } from './slots';

const windows = slidingWindow;

/** Pinned scripts of this algorithm: the combined check and the release. */
export const SLOTS_PINNED = { name: 'concurrency', script: SLOTS_SCRIPT, sha1: SLOTS_SHA1 };
export const RELEASE_PINNED = {
  name: 'concurrency release',
  script: RELEASE_SCRIPT,
  sha1: RELEASE_SHA1,
};

/** Sliding windows plus concurrency slots; the algorithm every store uses by default. */
export const concurrency: Algorithm = {
  name: 'concurrency',
  key: (identity, spec) =>
    isConcurrency(spec) ? slotKey(identity, spec) : windows.key(identity, spec),
  check(specs, cells, now, cost, consume, token) {
    const slotSpecs = specs.filter(isConcurrency);
    if (!slotSpecs.length) return windows.check(specs, cells, now, cost, consume);
    const windowSpecs = specs.filter((s) => !isConcurrency(s));
    const held = slotSpecs.map((spec) => {
      const slots = cellsOf(cells, spec.id);
      expireSlots(slots, now);
      return { spec, slots, ...heldSlots(slots, now) };
    });
    const free = held.every((h) => h.held < h.spec.limit);
    // A full slot turns the windows into a read, so a refusal for concurrency consumes nothing.
    const inner = windows.check(windowSpecs, cells, now, cost, consume && free);
    const allowed = free && inner.result.allowed;
    const take = allowed && consume && token !== undefined;
    const changes: CellChange[] = [...inner.changes];
    const slotStates = new Map<string, WindowState>();
    for (const h of held) {
      if (take) {
        const until = now + h.spec.windowMs;
        h.slots.set(token, until);
        changes.push({ window: h.spec.id, cell: token, delta: until, local: true });
      }
      const retryAt = slotRetryAt(h.spec, h.held, h.soonestEnd, now);
      slotStates.set(h.spec.id, slotState(h.spec, h.held + (take ? 1 : 0), retryAt, now));
    }
    return {
      result: { allowed, now, windows: inOrder(specs, slotStates, inner.result) },
      changes,
    };
  },
  lease(specs, cells, now, ask) {
    return windows.lease(
      specs.filter((s) => !isConcurrency(s)),
      cells,
      now,
      ask,
    );
  },
  expire(key: string, cells: Cells, now: number) {
    return isSlotKey(key) ? expireSlots(cells, now) : windows.expire(key, cells, now);
  },
  script: windows.script,
  scriptCall(request) {
    const slotSpecs = request.windows.filter(isConcurrency);
    if (!slotSpecs.length) return windows.scriptCall(request);
    const inner = windows.scriptCall(windowsOnly(request));
    return {
      script: SLOTS_PINNED,
      keys: [...slotSpecs.map((s) => slotKey(request.identity, s)), ...inner.keys],
      args: [
        String(slotSpecs.length),
        String(request.consume === false ? 0 : (request.slotToken ?? 0)),
        ...slotSpecs.flatMap((s) => [String(s.limit), String(s.windowMs)]),
        ...inner.args,
      ],
    };
  },
  parseReply(reply, request) {
    const slotSpecs = request.windows.filter(isConcurrency);
    if (!slotSpecs.length) return windows.parseReply(reply, request);
    const only = windowsOnly(request);
    const head = 2 + 3 * only.windows.length;
    if (!Array.isArray(reply) || reply.length !== head + 2 * slotSpecs.length) {
      throw new StoreError(
        'redis',
        'malformed-reply',
        `expected ${head + 2 * slotSpecs.length} integers from the concurrency script`,
      );
    }
    const inner = windows.parseReply(reply.slice(0, head), only);
    const slotStates = new Map<string, WindowState>();
    slotSpecs.forEach((spec, i) => {
      const used = Number(reply[head + 2 * i]);
      const retryAt = Number(reply[head + 2 * i + 1]);
      if (!Number.isSafeInteger(used) || !Number.isSafeInteger(retryAt)) {
        throw new StoreError('redis', 'malformed-reply', `slot ${spec.id} is not two integers`);
      }
      slotStates.set(spec.id, slotState(spec, used, retryAt, inner.now));
    });
    return { ...inner, windows: inOrder(request.windows, slotStates, inner) };
  },
  expiresAt(key, cells) {
    if (!isSlotKey(key)) return windows.expiresAt(key, cells);
    // A slot counts until its lease ends (its value).
    return Math.max(Number.NEGATIVE_INFINITY, ...cells.values());
  },
  // Slots are never copied to Redis (sharedKey), so only windows are coarsened.
  coarsen: (key, cells) => (isSlotKey(key) ? new Map(cells) : windows.coarsen(key, cells)),
  calls: [SLOTS_PINNED, RELEASE_PINNED],
  slots: {
    release(specs, cells, token) {
      const changes: CellChange[] = [];
      for (const spec of specs.filter(isConcurrency)) {
        const slots = cells.get(spec.id);
        const until = slots?.get(token);
        if (slots && until !== undefined) {
          slots.delete(token);
          changes.push({ window: spec.id, cell: token, delta: -until, local: true });
        }
      }
      return { result: changes.length, changes };
    },
    script: RELEASE_PINNED,
    call: (request) => ({
      keys: request.windows.filter(isConcurrency).map((s) => slotKey(request.identity, s)),
      args: [String(request.slotToken)],
    }),
  },
  sharedKey: (key) => !isSlotKey(key),
};

function cellsOf(cells: Map<string, Cells>, id: string): Cells {
  let found = cells.get(id);
  if (!found) {
    found = new Map();
    cells.set(id, found);
  }
  return found;
}

function windowsOnly(request: CheckRequest): CheckRequest {
  return { ...request, windows: request.windows.filter((s) => !isConcurrency(s)) };
}

/** Slot and window states back in the order of the request's specs. */
function inOrder(
  specs: readonly WindowSpec[],
  slotStates: Map<string, WindowState>,
  inner: CheckOutcome,
): WindowState[] {
  let next = 0;
  return specs.map((spec) => {
    const slot = slotStates.get(spec.id);
    if (isConcurrency(spec) && slot) return slot;
    const state = inner.windows[next++];
    if (!state) throw new Error(`no state for window ${spec.id}`);
    return state;
  });
}
