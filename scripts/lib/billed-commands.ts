/**
 * Redis commands as Upstash bills them: every command Redis executed, those a Lua script ran
 * included, read from `INFO commandstats` on the redis-server behind the local Upstash server.
 * Counting HTTP calls instead would make a script that runs 30 HINCRBYs look like one command.
 */
import { connectResp, isBuffer, type RespValue } from './resp-client';

/** Calls per command name (lower case), as `INFO commandstats` reports them. */
export type CommandCalls = Record<string, number>;

/**
 * Commands that are not part of the workload: our own counting (`info`, `config`) and
 * connection housekeeping. `multi`/`exec` wrap a transaction's commands, which are counted.
 */
const NOT_BILLED = new Set([
  'info',
  'config',
  'ping',
  'hello',
  'client',
  'select',
  'multi',
  'exec',
]);

/** Parses the `cmdstat_<name>:calls=<n>,...` lines of `INFO commandstats`. */
export function parseCommandstats(text: string): CommandCalls {
  const calls: CommandCalls = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match?.[1] && match[2]) calls[match[1].toLowerCase()] = Number(match[2]);
  }
  return calls;
}

/** Billed commands in a commandstats reading: the sum of every call but the housekeeping ones. */
export function billedCommands(calls: CommandCalls): number {
  let total = 0;
  // Redis 7 names subcommands `config|resetstat`; the command is what comes before the bar.
  for (const [name, n] of Object.entries(calls)) {
    if (!NOT_BILLED.has(name.split('|')[0] ?? name)) total += n;
  }
  return total;
}

/** A connection that reads and resets the command statistics of one redis-server. */
export interface CommandstatsReader {
  read(): Promise<CommandCalls>;
  /** `CONFIG RESETSTAT`: the counters start again from zero. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Connects to the redis-server on `port` (127.0.0.1) to read its `INFO commandstats`. */
export async function commandstatsReader(port: number): Promise<CommandstatsReader> {
  const client = await connectResp({ port });
  const text = (reply: RespValue) =>
    typeof reply === 'string' ? reply : isBuffer(reply) ? reply.toString('utf8') : '';
  return {
    read: async () => parseCommandstats(text(await client.send(['INFO', 'commandstats']))),
    reset: async () => {
      await client.send(['CONFIG', 'RESETSTAT']);
    },
    close: () => client.close(),
  };
}
