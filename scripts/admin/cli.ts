/** Runs one admin CLI invocation: reads argv, runs the command, maps failures to exit codes. */
import { readInvocation } from './args';
import { type AdminClient, createAdminClient, resolveConnection } from './client';
import { COMMANDS } from './commands';
import { ApiError, UsageError } from './errors';

/** The outside world of one run; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
  readonly fetch?: typeof fetch;
}

const PROGRAM = 'npm run admin --';

/**
 * Runs the CLI and resolves to its exit code: 0 done, 1 API error or worker unreachable,
 * 2 bad command line. Never throws for expected failures.
 * @example await runCli(['customers', 'show', 'acme'], io) // 0
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const invocation = readInvocation(argv, COMMANDS, PROGRAM);
    if (invocation.kind === 'help') {
      io.stdout(invocation.text);
      return 0;
    }
    const { command, parsed } = invocation;
    let client: AdminClient | undefined;
    const label = `${command.group} ${command.name}`;
    await withCommandLabel(label, () =>
      command.run(parsed, {
        client: () => {
          client ??= createAdminClient(
            resolveConnection(
              {
                url: typeof parsed.options.url === 'string' ? parsed.options.url : undefined,
                token: typeof parsed.options.token === 'string' ? parsed.options.token : undefined,
              },
              io.env,
            ),
            io.fetch,
          );
          return client;
        },
        out: io.stdout,
        json: parsed.options.json === true,
        now: io.now(),
      }),
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      const hint = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
      io.stderr(`error: ${error.message}\nSee: ${hint}`);
      return error.exitCode;
    }
    if (error instanceof ApiError) {
      io.stderr(`error: ${error.message}`);
      return error.exitCode;
    }
    io.stderr(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}

/** Lets a usage error thrown deep in a command point at that command's help. */
async function withCommandLabel(label: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof UsageError && !error.command) throw new UsageError(error.message, label);
    throw error;
  }
}
