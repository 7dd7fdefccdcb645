/**
 * A real origin on 127.0.0.1 whose slow requests end when a test says so, not after a delay: no
 * timed tests. Requests carry `?group=<id>` so parallel test files never meet.
 *
 * - `GET /anything?group=g&hold=1`: waits until `/_control/release?group=g`, then answers 200.
 * - `...&hold=stream`: sends headers and a first chunk at once, ends the body at release.
 * - `...&charge=N`: answers at once with `X-Edgelimit-Charge: N` (sent verbatim, malformed or not).
 * - `/_control/wait?group=g&n=N`: answers when N requests of the group are being held.
 * - `/_control/arrived?group=g`: how many requests of the group reached the origin.
 * - `/_control/release?group=g`: ends every request of the group held now.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running gate origin. */
export interface GateOrigin {
  readonly url: string;
  stop(): Promise<void>;
}

interface Group {
  arrived: number;
  held: ServerResponse[];
  waiters: { n: number; done: () => void }[];
}

/** Starts the gate origin on a free port of 127.0.0.1. */
export async function startGateOrigin(): Promise<GateOrigin> {
  const groups = new Map<string, Group>();
  const groupOf = (id: string) => {
    let g = groups.get(id);
    if (!g) {
      g = { arrived: 0, held: [], waiters: [] };
      groups.set(id, g);
    }
    return g;
  };
  const wake = (g: Group) => {
    g.waiters = g.waiters.filter((w) => {
      if (g.held.length < w.n) return true;
      w.done();
      return false;
    });
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate');
    const g = groupOf(url.searchParams.get('group') ?? '');
    const json = (body: unknown) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/_control/wait') {
      const n = Number(url.searchParams.get('n') ?? '1');
      g.waiters.push({ n, done: () => json({ held: g.held.length }) });
      wake(g);
      return;
    }
    if (url.pathname === '/_control/arrived') return json({ arrived: g.arrived });
    if (url.pathname === '/_control/release') {
      const held = g.held;
      g.held = [];
      for (const r of held) r.end('done\n');
      return json({ released: held.length });
    }
    g.arrived++;
    const charge = url.searchParams.get('charge');
    const hold = url.searchParams.get('hold');
    const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
    if (charge !== null) headers['X-Edgelimit-Charge'] = charge;
    if (hold === 'stream') {
      res.writeHead(200, headers);
      res.write('first\n');
      g.held.push(res);
      wake(g);
      return;
    }
    if (hold) {
      // Headers go out at release, with the body: the worker waits for the origin meanwhile.
      const end = res.end.bind(res);
      res.end = ((chunk?: unknown) => {
        res.writeHead(200, headers);
        return end(chunk as string);
      }) as typeof res.end;
      g.held.push(res);
      wake(g);
      return;
    }
    res.writeHead(200, headers);
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const g of groups.values()) for (const r of g.held) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
