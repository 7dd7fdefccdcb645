/** Which window of a decision blocks, or is closest to blocking: one answer for headers, bodies and telemetry. */
import { isConcurrency } from './contract';
import type { Decision, WindowResult } from './decide';

/**
 * The window a client should watch: the one that rejects, else the one with least left. A
 * concurrency limit is picked only when it rejects: "requests left" of a window and "slots free
 * now" are different quantities, and the X-RateLimit fields speak of windows.
 */
export function blockingWindow(decision: Decision): WindowResult | undefined {
  let pick: WindowResult | undefined;
  for (const w of decision.windows) {
    if (isConcurrency(w) && w.retryAt <= decision.now) continue;
    if (!pick) {
      pick = w;
      continue;
    }
    const wBlocked = w.retryAt > decision.now;
    const pBlocked = pick.retryAt > decision.now;
    if (wBlocked !== pBlocked) {
      if (wBlocked) pick = w;
    } else if (wBlocked ? w.retryAt > pick.retryAt : w.remaining < pick.remaining) {
      pick = w;
    } else if (!wBlocked && w.remaining === pick.remaining && w.resetAt > pick.resetAt) {
      pick = w;
    }
  }
  return pick;
}

/** Epoch ms when this window next gives quota back: the retry time if it blocks. */
export function nextQuotaAt(w: WindowResult, now: number): number {
  if (w.retryAt > now && Number.isFinite(w.retryAt)) return w.retryAt;
  return w.used > 0 ? w.resetAt : now;
}
