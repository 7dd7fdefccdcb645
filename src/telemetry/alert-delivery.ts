/** Delivers admitted alerts: one log line each, and a webhook post with retries when configured. */
import type { Alert } from './alerts';
import { webhookPayload } from './alerts';
import { log } from './log';
import { postWithRetry, type RetryOptions } from './webhook';

/** Where alerts go. */
export interface AlertDeliveryOptions {
  /** Slack-compatible webhook; alerts are only logged without it. */
  readonly webhookUrl?: string;
  readonly retry?: RetryOptions;
}

/** Logs every alert and posts it to the webhook; failures are logged, never thrown. */
export async function deliverAlerts(
  alerts: readonly Alert[],
  options: AlertDeliveryOptions,
): Promise<void> {
  for (const a of alerts) {
    log(
      'alert',
      {
        kind: a.kind,
        severity: a.severity,
        customerId: a.customerId,
        message: a.message,
        ...a.fields,
      },
      a.severity === 'critical' ? 'error' : 'warn',
    );
  }
  const url = options.webhookUrl;
  if (!url || alerts.length === 0) return;
  await Promise.all(
    alerts.map(async (a) => {
      const result = await postWithRetry(url, webhookPayload(a), options.retry);
      if (!result.delivered) {
        log(
          'alert-delivery-failed',
          {
            kind: a.kind,
            customerId: a.customerId,
            attempts: result.attempts,
            last: String(result.last),
          },
          'error',
        );
      }
    }),
  );
}
