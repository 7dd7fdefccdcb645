/** A free local TCP port, for servers the scripts and tests start. */
import { createServer } from 'node:net';

/**
 * Asks the OS for a free port on 127.0.0.1. Another process may take it before the caller binds,
 * so callers that can retry should.
 * @example const port = await freePort(); // 41873
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
