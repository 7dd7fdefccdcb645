/**
 * A small worker that limits with @upstash/ratelimit, for `npm run bench` only (not part of src/):
 * the same demo origin as edgelimit behind `Ratelimit.slidingWindow`, with or without its
 * ephemeral cache, and a bypass path, so both limiters are measured in one harness.
 */
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis/cloudflare';
import { z } from 'zod';
import { demoOrigin } from '../../src/http/demo-origin';

interface BenchEnv {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
  /** The bypass credential, compared like a plain header (this worker is a benchmark stand-in). */
  readonly SERVICE_TOKEN: string;
}

/** Headers the harness sends to pick the limiter: variant, limit and window as Ratelimit spells it. */
const limiterHeaders = z.object({
  variant: z.enum(['sliding-window', 'sliding-window-cache']),
  limit: z.coerce.number().int().positive().max(1_000_000_000),
  window: z.string().regex(/^\d+ (ms|s|m|h|d)$/),
  identifier: z.string().min(1).max(200),
});

type Duration = Parameters<typeof Ratelimit.slidingWindow>[1];

// Built once per isolate: the ephemeral cache only works when it outlives one request.
const limiters = new Map<string, Ratelimit>();
let redis: Redis | undefined;

function limiterFor(env: BenchEnv, v: z.infer<typeof limiterHeaders>): Ratelimit {
  const id = `${v.variant}|${v.limit}|${v.window}`;
  let limiter = limiters.get(id);
  if (!limiter) {
    redis ??= new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      retry: false,
      enableAutoPipelining: false,
      enableTelemetry: false,
    });
    limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(v.limit, v.window as Duration),
      // Left undefined, the library creates a cache by itself; the plain variant must say false.
      ephemeralCache: v.variant === 'sliding-window-cache' ? new Map<string, number>() : false,
      analytics: false,
      prefix: `bench:${v.variant}`,
    });
    limiters.set(id, limiter);
  }
  return limiter;
}

export default {
  async fetch(request, env, ctx) {
    if (request.headers.get('x-service-token') === env.SERVICE_TOKEN) return demoOrigin(request);
    const parsed = limiterHeaders.safeParse({
      variant: request.headers.get('x-bench-limiter'),
      limit: request.headers.get('x-bench-limit'),
      window: request.headers.get('x-bench-window'),
      identifier: request.headers.get('x-api-key'),
    });
    if (!parsed.success) return Response.json({ error: parsed.error.message }, { status: 400 });
    const result = await limiterFor(env, parsed.data).limit(parsed.data.identifier);
    ctx.waitUntil(result.pending);
    const headers = {
      'X-RateLimit-Limit': String(result.limit),
      'X-RateLimit-Remaining': String(result.remaining),
      'X-RateLimit-Reset': String(Math.ceil(result.reset / 1000)),
    };
    if (!result.success) {
      return Response.json({ title: 'Too many requests' }, { status: 429, headers });
    }
    const response = await demoOrigin(request);
    const out = new Response(response.body, response);
    for (const [k, v] of Object.entries(headers)) out.headers.set(k, v);
    return out;
  },
} satisfies ExportedHandler<BenchEnv>;
