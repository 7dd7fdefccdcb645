/** The signed-in customer's page: who they are, their limits, their history and the increase form. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createClient } from '../api/client';
import { ErrorNotice, Freshness, Loading } from '../components/states';
import type { DashboardConfig } from '../config';
import { formatTier } from '../format';
import { REFRESH_MS, useNow, usePolling } from '../hooks';
import { DEFAULT_RESOLUTIONS, type Resolution, type UsageRange } from '../range';
import { CustomerLimits } from './customer-limits';
import { CustomerUsage } from './customer-usage';
import { IncreaseForm } from './increase-form';

/** Props of {@link CustomerView}. */
export interface CustomerViewProps {
  readonly config: DashboardConfig;
  readonly apiKey: string;
  /** Called when the API stops accepting the key (revoked, or the worker's data was reset). */
  onUnauthorized(message: string): void;
}

/** Everything here is read with the signed-in key, so only that key's customer is ever shown. */
export function CustomerView({ config, apiKey, onUnauthorized }: CustomerViewProps) {
  const client = useMemo(() => createClient(config.apiBase, apiKey), [config.apiBase, apiKey]);
  const [range, setRange] = useState<UsageRange>('1h');
  const [resolution, setResolution] = useState<Resolution>('minute');
  const now = useNow(1000);

  const status = usePolling(() => client.rateLimit(), `limits:${apiKey}`, REFRESH_MS);
  const usage = usePolling(
    () => client.usage(range, resolution),
    `usage:${apiKey}:${range}:${resolution}`,
    REFRESH_MS,
  );

  const unauthorized = [status.error, usage.error].find(
    (e) => e instanceof ApiError && e.kind === 'unauthorized',
  );
  useEffect(() => {
    if (unauthorized) onUnauthorized('Your API key is no longer accepted; sign in again.');
  }, [unauthorized, onUnauthorized]);

  const identity = status.data ?? usage.data;
  return (
    <div class="view" data-testid="customer-view">
      <div class="view-head">
        <div>
          <h1>
            {identity ? (
              <>
                <span data-testid="customer-id">{identity.customerId ?? 'Anonymous'}</span>
                <span class="tier-badge" data-testid="tier">
                  {formatTier(identity.tier)} tier
                </span>
              </>
            ) : (
              'Your usage'
            )}
          </h1>
          <Freshness
            updatedAt={status.updatedAt}
            now={now}
            everyMs={REFRESH_MS}
            error={status.data ? status.error : undefined}
          />
        </div>
        <a class="docs-link" href={config.docsUrl} target="_blank" rel="noopener noreferrer">
          How rate limits work<span class="visually-hidden"> (opens in a new tab)</span>
        </a>
      </div>

      {status.data ? (
        <CustomerLimits status={status.data} now={now} />
      ) : status.error ? (
        <section class="panel" aria-label="Your limits right now">
          <ErrorNotice error={status.error} onRetry={status.refresh} />
        </section>
      ) : (
        <section class="panel" aria-label="Your limits right now">
          <Loading what="your limits" />
        </section>
      )}

      <CustomerUsage
        usage={usage}
        range={range}
        resolution={resolution}
        onRange={(r) => {
          setRange(r);
          setResolution(DEFAULT_RESOLUTIONS[r]);
        }}
        onResolution={setResolution}
        now={now}
        status={status.data}
      />

      <IncreaseForm client={client} status={status.data} />
    </div>
  );
}
