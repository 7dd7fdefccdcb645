/**
 * A real origin on 127.0.0.1 for the worker tests: `/hang` never answers, `/reset` drops the
 * connection, anything else echoes what arrived (method, path, headers, body length) as JSON.
 * Also a port nothing listens on, for "connection refused".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running test origin. */
export interface OriginServer {
  readonly url: string;
  /** An http URL on 127.0.0.1 where nothing listens. */
  readonly deadUrl: string;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Starts the origin (and finds a dead port). */
export async function startOriginServer(): Promise<OriginServer> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/hang')) return; // never answers; closed at stop()
    if (req.url?.startsWith('/reset')) {
      req.socket.destroy();
      return;
    }
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          method: req.method,
          path: req.url,
          headers: req.headers,
          bodyLength: length,
        }),
      );
    });
  });
  const port = await listen(server);
  const probe = createServer();
  const deadPort = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    deadUrl: `http://127.0.0.1:${deadPort}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
