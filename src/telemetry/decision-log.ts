/**
 * One `decision` log line per proxied request, for local development (`LOG_DECISIONS=true`, set
 * by `npm run dev`): who asked, what was decided and what is left. Pure apart from `log`.
 */
import { blockingWindow } from '../limiter/blocking-window';
import { outcomeOf } from './data-point';
import { type LogFields, log } from './log';
import type { DecisionEvent } from './telemetry';

/** The fields of a decision line: ids and addresses, never a key or a token. */
export function decisionFields(event: DecisionEvent): LogFields {
  const { caller, decision } = event;
  const top = blockingWindow(decision);
  const who =
    caller === undefined
      ? `unauthenticated ${event.clientIp ?? ''}`.trim()
      : caller.kind === 'customer'
        ? caller.customerId
        : caller.kind === 'service'
          ? `service ${caller.service}`
          : `anonymous ${caller.ip}`;
  return {
    method: event.method,
    path: event.path,
    caller: who,
    tier: event.tier,
    status: event.status,
    outcome: outcomeOf(event),
    ...(top ? { window: top.id, remaining: top.remaining, limit: top.limit } : {}),
  };
}

/** Writes the decision line. */
export function logDecision(event: DecisionEvent): void {
  log('decision', decisionFields(event));
}
