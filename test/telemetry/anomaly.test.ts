import { env, exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RULES,
  derivedBreaker,
  detectAnomalies,
  type MinuteCounters,
} from '../../src/telemetry/anomaly';
import { usageStub } from '../../src/telemetry/embedded-usage';
import { batch } from './helpers';

const MIN = 60_000;
const T0 = Date.UTC(2030, 5, 1, 0, 0, 0);
const CLOSED = { state: 'closed', since: null } as const;

function minute(i: number, counts: Partial<MinuteCounters> = {}): MinuteCounters {
  return {
    t: T0 + i * MIN,
    checks: 0,
    rejected: 0,
    bypassed: 0,
    failedOpen: 0,
    failedClosed: 0,
    storeErrors: 0,
    ...counts,
  };
}

/** 30 steady minutes (300 checks, 6 rejected) then `last`. */
function steadyThen(last: Partial<MinuteCounters>): MinuteCounters[] {
  const minutes = Array.from({ length: 30 }, (_, i) => minute(i, { checks: 300, rejected: 6 }));
  return [...minutes, minute(30, last)];
}

const kinds = (m: MinuteCounters[], breaker = CLOSED) =>
  detectAnomalies(m, breaker).map((c) => c.alert.kind);

describe('detectAnomalies', () => {
  it('fires a rejection spike against the rolling baseline', () => {
    const found = detectAnomalies(steadyThen({ checks: 300, rejected: 120 }), CLOSED);
    expect(found.map((c) => c.alert.kind)).toEqual(['rejection-spike']);
    expect(found[0]?.alert.fields).toMatchObject({ rate: 0.4, baselineRate: 0.02 });
  });

  it('stays quiet when rejections rise within noise, or on too little traffic', () => {
    expect(kinds(steadyThen({ checks: 300, rejected: 12 }))).toEqual([]);
    // 30 checks is also a traffic drop from 300/min; the point is that it is no spike.
    expect(kinds(steadyThen({ checks: 30, rejected: 25 }))).not.toContain('rejection-spike');
  });

  it('needs a baseline before judging a spike or a drop', () => {
    expect(kinds([minute(0, { checks: 300, rejected: 200 })])).toEqual([]);
    expect(kinds([minute(0, { checks: 5000 }), minute(1, { checks: 0 })])).toEqual([]);
  });

  it('fires on store errors, an open breaker and a sudden drop in traffic', () => {
    expect(
      kinds(steadyThen({ checks: 300, rejected: 6, storeErrors: 30, failedOpen: 30 })),
    ).toEqual(['store-errors']);
    expect(
      kinds(steadyThen({ checks: 300, rejected: 6 }), { state: 'open', since: T0 } as never),
    ).toEqual(['breaker-open']);
    expect(kinds(steadyThen({ checks: 20, rejected: 0 }))).toEqual(['traffic-drop']);
  });

  it('keys each anomaly kind to a quiet period, so the cron re-raising it is deduplicated', () => {
    const a = detectAnomalies(steadyThen({ checks: 300, rejected: 150 }), CLOSED)[0];
    const b = detectAnomalies(
      [
        ...steadyThen({ checks: 300, rejected: 6 }).slice(1),
        minute(31, { checks: 300, rejected: 150 }),
      ],
      CLOSED,
    )[0];
    expect(a?.dedupKey).toBe(b?.dedupKey);
    expect(a?.expiresAt).toBeGreaterThan(a?.alert.time ?? 0);
  });

  it('never fires on steady traffic with noise (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.array(fc.double({ min: 0.8, max: 1.2, noNaN: true }), { minLength: 31, maxLength: 31 }),
        fc.array(fc.double({ min: 0.7, max: 1.3, noNaN: true }), { minLength: 31, maxLength: 31 }),
        (volume, rate, volumeNoise, rateNoise) => {
          const minutes = volumeNoise.map((v, i) => {
            const checks = Math.round(volume * v);
            const rejected = Math.min(checks, Math.round(checks * rate * (rateNoise[i] ?? 1)));
            return minute(i, { checks, rejected });
          });
          expect(detectAnomalies(minutes, CLOSED)).toEqual([]);
        },
      ),
    );
  });

  it('always fires on a large injected spike over a quiet baseline (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 5000 }),
        fc.double({ min: 0, max: 0.05, noNaN: true }),
        fc.double({ min: 0.4, max: 1, noNaN: true }),
        (volume, base, spike) => {
          const minutes = Array.from({ length: 30 }, (_, i) =>
            minute(i, { checks: volume, rejected: Math.round(volume * base) }),
          );
          minutes.push(minute(30, { checks: volume, rejected: Math.round(volume * spike) }));
          expect(detectAnomalies(minutes, CLOSED).map((c) => c.alert.kind)).toContain(
            'rejection-spike',
          );
        },
      ),
    );
  });
});

describe('derivedBreaker', () => {
  it('opens on a run of fail-over minutes and closes when checks succeed again', () => {
    const failing = minute(1, { checks: 40, failedOpen: 40 });
    expect(derivedBreaker([minute(0, { checks: 40 }), failing])).toEqual({
      state: 'open',
      since: failing.t,
    });
    expect(derivedBreaker([failing, minute(2, { checks: 40 })]).state).toBe('closed');
    expect(derivedBreaker([failing, minute(2)]).state).toBe('open');
  });
});

describe('the scheduled handler', () => {
  function fleet(t: number, checks: number, rejected: number) {
    return {
      t,
      checks,
      allowed: checks - rejected,
      rejected,
      bypassed: 0,
      unauthenticated: 0,
      failedOpen: 0,
      failedClosed: 0,
      storeErrors: 0,
      latency: {},
    };
  }

  it('raises a rejection-spike alert once for an injected spike and nothing for steady traffic', async () => {
    const stub = usageStub(env.USAGE);
    // Two far-apart hours of synthetic traffic, so live tests never overlap them.
    const spikeAt = Date.UTC(2031, 0, 1, 10, 0);
    const steadyAt = Date.UTC(2031, 0, 1, 14, 0);
    const rows = [];
    for (let i = 31; i >= 2; i--)
      rows.push(fleet(spikeAt - i * MIN, 400, 4), fleet(steadyAt - i * MIN, 400, 4));
    rows.push(fleet(spikeAt - MIN, 400, 300), fleet(steadyAt - MIN, 410, 5));
    await stub.record(batch({ fleet: rows }), spikeAt);

    // The typed exports only know fetch; the scheduled handler is there at runtime.
    const entry = exports.default as unknown as {
      scheduled(c: ScheduledController): Promise<void>;
    };
    const run = (scheduledTime: number) =>
      entry.scheduled({ scheduledTime, cron: '* * * * *', noRetry() {} });
    await run(steadyAt);
    await run(spikeAt);
    await run(spikeAt + 1000);
    const alerts = (await stub.recentAlerts(100)).filter(
      (a) => a.time === spikeAt || a.time === steadyAt,
    );
    expect(alerts.map((a) => [a.kind, a.time])).toEqual([['rejection-spike', spikeAt]]);
    expect(DEFAULT_RULES.spikeFactor).toBe(3);
  });
});
