/** Builders for telemetry tests: a recording METRICS binding and an app running on a custom env. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../src/app';
import type { Bindings } from '../../src/env';
import type { UsageBatch } from '../../src/telemetry/usage-batch';
import { API } from '../support/app';

/** A fake Analytics Engine dataset that keeps every data point written to it. */
export interface MetricsRecorder extends AnalyticsEngineDataset {
  readonly points: AnalyticsEngineDataPoint[];
}

/** Creates an empty {@link MetricsRecorder}. */
export function metricsRecorder(): MetricsRecorder {
  const points: AnalyticsEngineDataPoint[] = [];
  return {
    points,
    writeDataPoint(point?: AnalyticsEngineDataPoint) {
      if (point) points.push(point);
    },
  };
}

/** A fresh app on `{ ...env, ...overrides }`, waiting for `waitUntil` work after each request. */
export function appWith(overrides: Partial<Bindings>) {
  const app = createApp();
  const appEnv: Bindings = { ...env, ...overrides };
  return {
    env: appEnv,
    async fetch(path: string, init?: RequestInit): Promise<Response> {
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request(`${API}${path}`, init), appEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
  };
}

/** A usage object nobody else writes to. */
export function isolatedUsage() {
  return env.USAGE.get(env.USAGE.idFromName(`test-${crypto.randomUUID()}`));
}

/** A batch builder with defaults. */
export function batch(parts: Partial<UsageBatch>): UsageBatch {
  return { usage: [], fleet: [], rejections: [], alerts: [], ...parts };
}
