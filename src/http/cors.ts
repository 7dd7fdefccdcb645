/** CORS for the dashboard: only the DASHBOARD_ORIGIN list (or any origin with `*`). */
import { cors } from 'hono/cors';
import { readSettings } from '../env';
import type { EdgeContext } from './edge-env';

/** The CORS middleware of every route the dashboard calls. */
export function dashboardCors() {
  return cors({
    origin: (origin, c: EdgeContext) => {
      const allowed = readSettings(c.env).dashboardOrigins;
      if (allowed.includes('*')) return '*';
      return allowed.includes(origin) ? origin : null;
    },
    allowHeaders: ['Authorization', 'X-API-Key', 'Content-Type'],
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    exposeHeaders: [
      'RateLimit',
      'RateLimit-Policy',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ],
    maxAge: 600,
  });
}
