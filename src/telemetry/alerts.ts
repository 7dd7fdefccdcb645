/** Alerts: what they are, which decisions raise them, and how they are worded. Pure. */
import type { DecisionEvent } from './telemetry';

/** Kinds of alert (listed in docs/usage-api.md). */
export type AlertKind =
  | 'approaching'
  | 'exceeded'
  | 'rejection-spike'
  | 'store-errors'
  | 'write-behind-failing'
  | 'breaker-open'
  | 'traffic-drop'
  | 'increase-request'
  | 'config-error';

/** One alert, as recorded, logged and posted. */
export interface Alert {
  readonly time: number;
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly customerId?: string;
  readonly message: string;
  /** Structured details operators filter on (window, limit, rates...). */
  readonly fields: Readonly<Record<string, string | number>>;
}

/** An alert to raise at most once per `dedupKey` until `expiresAt`. */
export interface AlertCandidate {
  readonly dedupKey: string;
  readonly expiresAt: number;
  readonly alert: Alert;
}

/**
 * Customer alerts a decision raises: `exceeded` for every window that rejected it, `approaching`
 * for every window at or past `threshold` (0..1) of its limit. Keyed by customer, window and the
 * window's aligned start, so each fires at most once per customer per window.
 */
export function customerAlertCandidates(event: DecisionEvent, threshold: number): AlertCandidate[] {
  const { caller, decision } = event;
  if (caller?.kind !== 'customer') return [];
  if (decision.outcome !== 'allowed' && decision.outcome !== 'rejected') return [];
  const out: AlertCandidate[] = [];
  for (const w of decision.windows) {
    const start = Math.floor(decision.now / w.windowMs) * w.windowMs;
    const expiresAt = start + w.windowMs;
    const exceeded = decision.outcome === 'rejected' && w.retryAt > decision.now;
    const approaching = !exceeded && w.limit > 0 && w.used >= Math.ceil(threshold * w.limit);
    if (!exceeded && !approaching) continue;
    const kind = exceeded ? 'exceeded' : 'approaching';
    const what = `${w.limit} per ${w.window}${w.rule ? ` on ${w.rule}` : ''}`;
    out.push({
      dedupKey: `${kind}:${caller.customerId}:${w.id}:${start}`,
      expiresAt,
      alert: {
        time: decision.now,
        kind,
        severity: exceeded ? 'warning' : 'info',
        customerId: caller.customerId,
        message: exceeded
          ? `Customer ${caller.customerId} exceeded its limit of ${what} (tier ${event.tier}).`
          : `Customer ${caller.customerId} used ${w.used} of ${what} (${Math.round((100 * w.used) / w.limit)}%, threshold ${Math.round(threshold * 100)}%).`,
        fields: {
          window: w.id,
          limit: w.limit,
          used: w.used,
          windowStart: new Date(start).toISOString(),
          tier: event.tier,
          ...(w.rule ? { rule: w.rule } : {}),
        },
      },
    });
  }
  return out;
}

/**
 * Escapes text for Slack's message format: `&`, `<` and `>` become entities, so text from a
 * customer (an increase request's reason) cannot ping `<!channel>`, mention `<@U123>` or show a
 * disguised link `<https://evil|your bank>`; it reads as typed.
 * @example slackEscape('<!channel>') // '&lt;!channel&gt;'
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The Slack-compatible webhook body: `text` for Slack and similar, plus the structured alert so
 * other receivers need not parse prose.
 */
export function webhookPayload(alert: Alert): Record<string, unknown> {
  const icon =
    alert.severity === 'critical'
      ? ':rotating_light:'
      : alert.severity === 'warning'
        ? ':warning:'
        : ':information_source:';
  return {
    text: `${icon} [edgelimit] ${alert.kind}: ${slackEscape(alert.message)}`,
    source: 'edgelimit',
    kind: alert.kind,
    severity: alert.severity,
    time: new Date(alert.time).toISOString(),
    ...(alert.customerId ? { customerId: alert.customerId } : {}),
    message: alert.message,
    fields: alert.fields,
  };
}
