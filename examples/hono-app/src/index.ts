/** An example API Worker rate limited by edgelimit over RPC, with the Hono middleware. */
import { type RateLimiterBinding, type RateLimitVariables, rateLimit } from 'edgelimit/hono';
import { Hono } from 'hono';

type AppEnv = {
  Bindings: { EDGELIMIT: RateLimiterBinding };
  Variables: RateLimitVariables;
};

const app = new Hono<AppEnv>();

// Every route below is limited exactly as the proxy would limit it: tiers, endpoint rules
// (POST /v1/search is stricter), service-token bypass, 401 for bad keys, 429 with Retry-After.
app.use('*', rateLimit<AppEnv>({ binding: (c) => c.env.EDGELIMIT }));

app.post('/v1/search', async (c) => c.json({ results: [], caller: c.var.edgelimit.caller }));

// Everything else echoes what it saw, like the limiter's demo origin, plus the verified caller
// (trust it, never a client-sent X-Customer-Id).
app.all('*', (c) =>
  c.json({ method: c.req.method, path: c.req.path, caller: c.var.edgelimit.caller ?? null }),
);

export default app;
