/**
 * Bench-only worker entry: src/index.ts unchanged, except that the limiter Durable Object counts
 * what Cloudflare bills it for — requests (RPC calls and alarms) and rows written to its SQLite
 * storage — and `GET /__bench/do-stats` (`?reset=1` to zero them) reads the counts. Local workerd
 * runs the objects in the worker's own isolate, so one module-level counter sees them all.
 */
import worker, { LimiterObject as Base, UsageObject } from '../../src/index';

export { UsageObject };

/** Billed units of every limiter object of this isolate since the last reset. */
const counts = { requests: 0, alarms: 0, rowsWritten: 0, rowsRead: 0 };

type Storage = DurableObjectState['storage'];

/**
 * Rows a storage call writes. SQLite-backed objects keep each KV-API key as one row of a hidden
 * table, so a put of N keys writes N rows and a delete of N keys up to N; an alarm is a row of
 * metadata (counted as one write, the documentation says no more).
 */
function rowsOf(method: string, args: unknown[]): number {
  const [first] = args;
  switch (method) {
    case 'put':
      return typeof first === 'string' ? 1 : Object.keys(first ?? {}).length;
    case 'delete':
      return Array.isArray(first) ? first.length : 1;
    case 'setAlarm':
    case 'deleteAlarm':
      return 1;
    default:
      return 0;
  }
}

function countingStorage(storage: Storage): Storage {
  return new Proxy(storage, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts.rowsWritten += rowsOf(String(prop), args);
        const result: unknown = value.apply(target, args);
        if (prop === 'list' && result instanceof Promise) {
          return result.then((map: Map<string, unknown>) => {
            counts.rowsRead += map.size;
            return map;
          });
        }
        if (prop === 'get') counts.rowsRead += Array.isArray(args[0]) ? args[0].length : 1;
        return result;
      };
    },
  });
}

/** `ctx` with its storage counted; everything else is the real state. */
function countingState(ctx: DurableObjectState): DurableObjectState {
  const storage = countingStorage(ctx.storage);
  return new Proxy(ctx, {
    get(target, prop) {
      if (prop === 'storage') return storage;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export class LimiterObject extends Base {
  constructor(ctx: DurableObjectState, env: Env) {
    // workerd checks the state's type in the base constructor, so the counting view replaces
    // `this.ctx` afterwards: every write the object makes goes through `this.ctx.storage`.
    super(ctx, env);
    Object.defineProperty(this, 'ctx', { value: countingState(ctx) });
  }

  override check(...args: Parameters<Base['check']>): ReturnType<Base['check']> {
    counts.requests++;
    return super.check(...args);
  }

  override lease(...args: Parameters<Base['lease']>): ReturnType<Base['lease']> {
    counts.requests++;
    return super.lease(...args);
  }

  override alarm(): Promise<void> {
    counts.requests++;
    counts.alarms++;
    return super.alarm();
  }
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__bench/do-stats') {
      const snapshot = { ...counts };
      if (url.searchParams.has('reset')) {
        counts.requests = 0;
        counts.alarms = 0;
        counts.rowsWritten = 0;
        counts.rowsRead = 0;
      }
      return Response.json(snapshot);
    }
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
