/**
 * `tsx scripts/bench/micro.ts`: the worker's per-request JavaScript on the `fast` path, timed in
 * Node (workerd's clock does not advance during CPU work, so this cannot be timed in workerd).
 * Real modules: identify, the KV config cache (over an in-memory KV), policy resolution, decide()
 * through the blocked-window L1 and the lease store (leases from the in-process leaser), the
 * headers and the telemetry fold. Prints µs per call of each piece and of checkRequest for a
 * `fast` customer against a service token (the bypass). Not part of `npm run bench`.
 */
import { createHash } from 'node:crypto';
import { readSettings } from '../../src/env';
import { type LimitedCaller, policyFor } from '../../src/http/caller-policy';
import { checkRequest } from '../../src/http/check-request';
import { rateLimitHeaders } from '../../src/http/rate-limit-headers';
import { createFailedAttemptsGuard } from '../../src/identity/failed-attempts';
import { sha256Bytes, sha256Hex } from '../../src/identity/hash';
import { identify } from '../../src/identity/identify';
import { createKeyHasher } from '../../src/identity/key-hasher';
import { createTokenVerifier } from '../../src/identity/service-tokens';
import { decide } from '../../src/limiter/decide';
import { customerIdentity } from '../../src/limiter/keys';
import { createConfigStore, kvKeys } from '../../src/policy/config-store';
import type { Services } from '../../src/services';
import { withBlockedCache } from '../../src/store/blocked-cache';
import { withLeases } from '../../src/store/lease-store';
import { createMemoryLeaser, createMemoryStore } from '../../src/store/memory-store';
import { customerAlertCandidates } from '../../src/telemetry/alerts';
import { toDataPoint } from '../../src/telemetry/data-point';
import { addDecision, emptyBatch } from '../../src/telemetry/usage-batch';

// Node's subtle.digest runs on the libuv thread pool (~25 µs a call); workerd's hashes at once
// and returns a settled promise. Stand in with the synchronous hash, so digests cost what they
// cost in workerd rather than a thread hop.
Object.defineProperty(crypto.subtle, 'digest', {
  value: async (_algorithm: string, data: Uint8Array) => {
    const bytes = createHash('sha256').update(data).digest();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  },
});

/**
 * A clock that moves 1.4 ms per timed call (about the throughput phase's 700 requests/s): on the
 * system clock Node decides so fast that the lease's rate estimate asks for a renewal on most
 * requests, which the worker under the benchmark's load never does.
 */
let now = Date.now();
const clock = { now: () => now };
const STEP_MS = 1.4;

const KEY = 'bench-micro-key-0123456789';
/** Lease renewals the decisions started (the object's work in production). */
let renewals = 0;
const TOKEN = 'bench-service-token-0123456789';

async function services(): Promise<Services> {
  const kv = new Map<string, string>();
  kv.set(
    kvKeys.apiKey(await sha256Hex(KEY)),
    JSON.stringify({ customerId: 'acme', createdAt: new Date().toISOString() }),
  );
  kv.set(
    kvKeys.customer('acme'),
    JSON.stringify({
      tier: 'enterprise',
      limits: [{ limit: 1e9, window: '1m' }],
      consistency: 'fast',
    }),
  );
  const fakeKv = { get: async (key: string) => kv.get(key) ?? null } as unknown as KVNamespace;
  const settings = readSettings({
    LIMITER_STORE: 'memory',
    CONSISTENCY: 'fast',
    ORIGIN_URL: 'demo',
    SERVICE_TOKENS: `bench=${TOKEN}`,
    RESERVED_PREFIX: '/_edgelimit',
    DASHBOARD_ORIGIN: 'http://127.0.0.1:8788',
    SEED_DEMO: 'false',
    DOCS_URL: '',
  } as never);
  const leaser = createMemoryLeaser(clock);
  const store = withBlockedCache(
    withLeases(
      createMemoryStore(clock),
      (request, ask) => {
        renewals++;
        return leaser(request, ask);
      },
      { clock },
    ),
    clock,
  );
  return {
    settings,
    clock,
    config: createConfigStore({ kv: fakeKv, clock }),
    counters: store,
    verifyServiceToken: createTokenVerifier([{ name: 'bench', token: TOKEN }]),
    verifyAdminToken: createTokenVerifier([]),
    failedAttempts: createFailedAttemptsGuard(),
    ...(process.env.MICRO_NO_KEY_CACHE ? {} : { hashKey: createKeyHasher() }),
  } as unknown as Services;
}

async function time(label: string, n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < n / 10; i++) {
    now += STEP_MS;
    await fn();
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    now += STEP_MS;
    await fn();
  }
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(48)} ${us.toFixed(2).padStart(8)} µs`);
  return us;
}

const s = await services();
const limited = new Headers({ 'CF-Connecting-IP': '10.1.0.1', 'X-API-Key': KEY });
const bypassed = new Headers({ 'CF-Connecting-IP': '10.1.0.1', 'X-Service-Token': TOKEN });
const req = (headers: Headers) => ({ headers, method: 'GET', path: '/v1/items' });
const N = Number(process.env.MICRO_N ?? 50_000);
const first = await checkRequest(s, req(limited));
if (first.outcome !== 'allowed') throw new Error(`expected allowed, got ${first.outcome}`);
const l = await time('checkRequest, fast customer', N, () => checkRequest(s, req(limited)));
const b = await time('checkRequest, service token (bypass)', N, () =>
  checkRequest(s, req(bypassed)),
);
console.log(`${'difference'.padEnd(48)} ${(l - b).toFixed(2).padStart(8)} µs`);
const v = await checkRequest(s, req(limited));
const event = { ...(v.event as NonNullable<typeof v.event>), status: 200 };
await time('  identify, fast customer', N, () => identify(limited, s));
await time('  identify, service token', N, () => identify(bypassed, s));
await time('  sha256Hex(key)', N, () => sha256Hex(KEY));
await time('  sha256Bytes(key)', N, () => sha256Bytes(KEY));
const caller = (v.caller ?? { kind: 'anonymous', ip: '' }) as LimitedCaller;
await time('  policyFor', N, () => policyFor(s, caller, 'GET', '/v1/items'));
const policy = await policyFor(s, caller, 'GET', '/v1/items');
const before = renewals;
await time('  decide (L1 + lease)', N, () =>
  decide({ store: s.counters, identity: customerIdentity('acme'), policy, clock: s.clock }),
);
console.log(`    (${renewals - before} lease renewals in ${Math.round(N * 1.1)} decisions)`);
await time('  rateLimitHeaders', N, () => rateLimitHeaders(event.decision));
await time('  addDecision', N, () => addDecision(emptyBatch(), event));
await time('  customerAlertCandidates', N, () => customerAlertCandidates(event, 0.8));
await time('  toDataPoint', N, () => toDataPoint(event, '0123456789abcdef'));
