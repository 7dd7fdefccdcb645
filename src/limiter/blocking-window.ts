/** Which window of a decision blocks, or is closest to blocking: one answer for headers, bodies and telemetry. */
import type { Decision, WindowResult } from './decide';

/** The window a client should watch: the one that rejects, else the one with least left. */
export function blockingWindow(decision: Decision): WindowResult | undefined {
  let pick: WindowResult | undefined;
  for (const w of decision.windows) {
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
