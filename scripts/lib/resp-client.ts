/** A tiny pipelining RESP2/RESP3 client over node:net, enough to drive a local redis-server. */
import { connect, type Socket } from 'node:net';

/** A Redis error reply. It is returned as a value, never thrown, so a pipeline keeps its shape. */
export class RespError extends Error {
  override readonly name = 'RespError';
}

/** A RESP3 map reply, kept as ordered pairs because keys are usually Buffers. */
export interface RespMap {
  readonly kind: 'map';
  readonly entries: ReadonlyArray<readonly [RespValue, RespValue]>;
}

/**
 * One decoded reply. Bulk strings are Buffers (Redis strings are bytes), simple strings are JS
 * strings, so callers can tell a `+OK` status from a stored value `"OK"`.
 */
export type RespValue =
  | string
  | Buffer
  | number
  | boolean
  | null
  | RespError
  | RespMap
  | RespValue[];

/** One command argument; numbers are sent as their decimal text, as Redis expects. */
export type RespArg = string | Buffer | number;

/** An open connection. Commands may be issued concurrently; replies come back in send order. */
export interface RespClient {
  /** Sends one command and resolves with its reply (errors included, as {@link RespError}). */
  send(args: readonly RespArg[]): Promise<RespValue>;
  /** Writes all commands in a single socket write and resolves with their replies in order. */
  sendMany(commands: ReadonlyArray<readonly RespArg[]>): Promise<RespValue[]>;
  /** True once the socket has closed; further sends reject. */
  readonly closed: boolean;
  /** Closes the socket; pending commands reject. */
  close(): Promise<void>;
}

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
}

const CRLF: Buffer = Buffer.from('\r\n');

/**
 * Narrows to Buffer. `Buffer.isBuffer` is no type guard here because the Workers types declare the
 * global `Buffer` value as `any`.
 */
export function isBuffer(value: unknown): value is Buffer {
  return Buffer.isBuffer(value);
}

/** Serialises commands as RESP arrays of bulk strings, the only request form Redis requires. */
export function encodeCommands(commands: ReadonlyArray<readonly RespArg[]>): Buffer {
  const parts: Buffer[] = [];
  for (const args of commands) {
    parts.push(Buffer.from(`*${args.length}\r\n`));
    for (const arg of args) {
      const bytes: Buffer = isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
    }
  }
  return Buffer.concat(parts);
}

/** Thrown internally when the buffer ends mid-reply; the parser waits for more bytes. */
const INCOMPLETE = Symbol('incomplete');

interface Parsed {
  value: RespValue;
  next: number;
}

function readLine(buf: Buffer, start: number): { line: string; next: number } | typeof INCOMPLETE {
  const end = buf.indexOf(CRLF, start);
  if (end === -1) return INCOMPLETE;
  return { line: buf.toString('utf8', start, end), next: end + 2 };
}

function readBlob(
  buf: Buffer,
  next: number,
  length: number,
): { bytes: Buffer; next: number } | typeof INCOMPLETE {
  if (buf.length < next + length + 2) return INCOMPLETE;
  return { bytes: buf.subarray(next, next + length), next: next + length + 2 };
}

function parseAggregate(
  buf: Buffer,
  next: number,
  count: number,
): { items: RespValue[]; next: number } | typeof INCOMPLETE {
  const items: RespValue[] = [];
  let at = next;
  for (let i = 0; i < count; i++) {
    const item = parseReply(buf, at);
    if (item === INCOMPLETE) return INCOMPLETE;
    items.push(item.value);
    at = item.next;
  }
  return { items, next: at };
}

/**
 * Parses one reply starting at `start`. Returns INCOMPLETE when more bytes are needed, so the
 * caller can retry after the next chunk without tracking partial state.
 */
export function parseReply(buf: Buffer, start: number): Parsed | typeof INCOMPLETE {
  if (start >= buf.length) return INCOMPLETE;
  const type = String.fromCharCode(buf[start] ?? 0);
  const header = readLine(buf, start + 1);
  if (header === INCOMPLETE) return INCOMPLETE;
  const { line, next } = header;
  switch (type) {
    case '+':
      return { value: line, next };
    case '-':
      return { value: new RespError(line), next };
    case ':':
      return { value: Number(line), next };
    case '_':
      return { value: null, next };
    case '#':
      return { value: line === 't', next };
    case ',':
      return { value: Number(line.replace('inf', 'Infinity')), next };
    // Big numbers do not fit a JS number; keep their exact text.
    case '(':
      return { value: line, next };
    case '$':
    case '!':
    case '=': {
      const length = Number(line);
      if (length < 0) return { value: null, next };
      const blob = readBlob(buf, next, length);
      if (blob === INCOMPLETE) return INCOMPLETE;
      if (type === '!')
        return { value: new RespError(blob.bytes.toString('utf8')), next: blob.next };
      // Verbatim strings carry a 3-letter format and a colon before the payload.
      const bytes = type === '=' ? blob.bytes.subarray(4) : blob.bytes;
      return { value: Buffer.from(bytes), next: blob.next };
    }
    case '*':
    case '~':
    case '>': {
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const agg = parseAggregate(buf, next, count);
      if (agg === INCOMPLETE) return INCOMPLETE;
      return { value: agg.items, next: agg.next };
    }
    case '%':
    case '|': {
      const agg = parseAggregate(buf, next, Number(line) * 2);
      if (agg === INCOMPLETE) return INCOMPLETE;
      // Attributes are metadata about the reply that follows; this client has no use for them.
      if (type === '|') return parseReply(buf, agg.next);
      const entries: Array<readonly [RespValue, RespValue]> = [];
      for (let i = 0; i < agg.items.length; i += 2) {
        entries.push([agg.items[i] ?? null, agg.items[i + 1] ?? null]);
      }
      return { value: { kind: 'map', entries }, next: agg.next };
    }
    default:
      throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/**
 * Opens a connection to a Redis server.
 *
 * @param opts.port - the server port
 * @param opts.host - defaults to `127.0.0.1`
 * @param opts.protocol - `2` (default) or `3`; with 3 the client sends `HELLO 3` first
 * @example
 * const client = await connectResp({ port: 6379 });
 * const pong = await client.send(['PING']); // 'PONG'
 */
export async function connectResp(opts: {
  port: number;
  host?: string;
  protocol?: 2 | 3;
}): Promise<RespClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  socket.setNoDelay(true);

  const pending: Pending[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let closed = false;
  let failure: Error | undefined;

  const failAll = (error: Error) => {
    failure ??= error;
    for (const p of pending.splice(0)) p.reject(failure);
  };

  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let offset = 0;
    try {
      while (offset < buffer.length) {
        const parsed = parseReply(buffer, offset);
        if (parsed === INCOMPLETE) break;
        offset = parsed.next;
        const waiter = pending.shift();
        // Replies nobody asked for are pushes (RESP3); there is no subscriber to hand them to.
        waiter?.resolve(parsed.value);
      }
    } catch (error) {
      // A desynchronised stream cannot be recovered; drop the connection.
      failAll(error instanceof Error ? error : new Error(String(error)));
      socket.destroy();
      return;
    }
    buffer = buffer.subarray(offset);
  });
  socket.on('error', (error) => failAll(error));
  socket.on('close', () => {
    closed = true;
    failAll(new Error('Redis connection closed'));
  });

  const enqueue = (count: number, payload: Buffer): Promise<RespValue>[] => {
    if (closed)
      return Array.from({ length: count }, () =>
        Promise.reject(failure ?? new Error('Redis connection closed')),
      );
    const promises = Array.from(
      { length: count },
      () => new Promise<RespValue>((resolve, reject) => pending.push({ resolve, reject })),
    );
    socket.write(payload);
    return promises;
  };

  const client: RespClient = {
    send: async (args) => {
      const [reply] = enqueue(1, encodeCommands([args]));
      if (reply === undefined) throw new Error('unreachable: no reply promise');
      return reply;
    },
    sendMany: async (commands) => {
      if (commands.length === 0) return [];
      return Promise.all(enqueue(commands.length, encodeCommands(commands)));
    },
    get closed() {
      return closed;
    },
    close: async () => {
      if (closed) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  };

  if (opts.protocol === 3) {
    const hello = await client.send(['HELLO', 3]);
    if (hello instanceof RespError) {
      await client.close();
      throw hello;
    }
  }
  return client;
}
