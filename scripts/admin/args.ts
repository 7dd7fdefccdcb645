/** Command-line parsing of the admin CLI: finds the command, parses its options, writes help. */
import { parseArgs } from 'node:util';
import { UsageError } from './errors';

/** One option of a command, as `node:util` parseArgs takes it, plus help text. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder in help, e.g. `<tier>`. */
  readonly value?: string;
  readonly description: string;
  readonly required?: boolean;
}

/** What a command's handler receives. */
export interface ParsedCommand {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** A command: `group name <args> [options]`. */
export interface CommandSpec<Context> {
  readonly group: string;
  readonly name: string;
  /** Positional arguments, e.g. `['customerId']`; all required. */
  readonly args: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  run(parsed: ParsedCommand, context: Context): Promise<void>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: {
    type: 'string',
    value: '<url>',
    description: 'worker base URL (default: $EDGELIMIT_URL or http://127.0.0.1:8787)',
  },
  token: {
    type: 'string',
    value: '<token>',
    description:
      'admin token (default: $EDGELIMIT_ADMIN_TOKEN; demo-admin-token for localhost only)',
  },
  json: { type: 'boolean', description: 'print the API response as JSON' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** The outcome of reading argv: help to print, or a command to run. */
export type Invocation<Context> =
  | { readonly kind: 'help'; readonly text: string }
  | {
      readonly kind: 'run';
      readonly command: CommandSpec<Context>;
      readonly parsed: ParsedCommand;
    };

/**
 * Reads `argv` (without `node script`) against the command table. Throws {@link UsageError} for
 * an unknown command, unknown or malformed option, or wrong number of arguments.
 */
export function readInvocation<Context>(
  argv: readonly string[],
  commands: readonly CommandSpec<Context>[],
  program: string,
): Invocation<Context> {
  const words = bareWords(argv, commands);
  const wantsHelp = argv.includes('--help') || argv.includes('-h') || words[0] === 'help';
  const group = words[0] === 'help' ? words[1] : words[0];
  if (!group) {
    if (wantsHelp || argv.length === 0)
      return { kind: 'help', text: programHelp(commands, program) };
    throw new UsageError('missing command');
  }
  const inGroup = commands.filter((c) => c.group === group);
  if (!inGroup.length) {
    throw new UsageError(
      `unknown command ${JSON.stringify(group)}; commands: ${[...new Set(commands.map((c) => c.group))].join(', ')}`,
    );
  }
  const name = words[0] === 'help' ? words[2] : words[1];
  const command = inGroup.find((c) => c.name === name);
  if (!command) {
    if (name === undefined) return { kind: 'help', text: groupHelp(group, inGroup, program) };
    throw new UsageError(
      `unknown command "${group} ${name ?? ''}"; ${group} commands: ${inGroup.map((c) => c.name).join(', ')}`,
    );
  }
  if (wantsHelp) return { kind: 'help', text: commandHelp(command, program) };
  return { kind: 'run', command, parsed: parseCommand(command, argv) };
}

/** The words of argv that are not options or option values (`--tier pro` skips `pro`). */
function bareWords<Context>(
  argv: readonly string[],
  commands: readonly CommandSpec<Context>[],
): string[] {
  const takesValue = new Set<string>();
  for (const options of [GLOBAL_OPTIONS, ...commands.map((c) => c.options)]) {
    for (const [key, spec] of Object.entries(options)) {
      if (spec.type === 'string') takesValue.add(`--${key}`);
    }
  }
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-')) words.push(arg);
    else if (takesValue.has(arg)) i += 1;
  }
  return words;
}

function parseCommand<Context>(
  command: CommandSpec<Context>,
  argv: readonly string[],
): ParsedCommand {
  const label = `${command.group} ${command.name}`;
  const specs = { ...GLOBAL_OPTIONS, ...command.options };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(specs).map(([key, spec]) => [
          key,
          {
            type: spec.type,
            ...(spec.multiple ? { multiple: true } : {}),
            ...(spec.short ? { short: spec.short } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error), label);
  }
  const args = positionals.slice(2);
  if (args.length < command.args.length) {
    throw new UsageError(`missing <${command.args[args.length]}>`, label);
  }
  if (args.length > command.args.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(args[command.args.length])}`, label);
  }
  for (const [key, spec] of Object.entries(command.options)) {
    if (spec.required && values[key] === undefined)
      throw new UsageError(`--${key} is required`, label);
  }
  const options: Record<string, string | boolean | string[] | undefined> = {};
  for (const [key, value] of Object.entries(values)) {
    options[key] = Array.isArray(value) ? value.map(String) : value;
  }
  return { positionals: args, options };
}

/** Node's parseArgs messages name the option; keep that part and drop its advice. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /Option '([^']+)' argument missing/.exec(message);
  if (missing) return `option ${missing[1]?.replace(/^-\w, /, '')} needs a value`;
  return message.split('. ')[0] ?? message;
}

function usageLine<Context>(command: CommandSpec<Context>, program: string): string {
  const args = command.args.map((a) => `<${a}>`).join(' ');
  const required = Object.entries(command.options)
    .filter(([, o]) => o.required)
    .map(([k, o]) => `--${k} ${o.value ?? ''}`.trim());
  return [program, command.group, command.name, args, ...required, '[options]']
    .filter(Boolean)
    .join(' ');
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([key, o]) => [
    `${o.short ? `-${o.short}, ` : ''}--${key}${o.value ? ` ${o.value}` : ''}`,
    `${o.description}${o.multiple ? ' (repeatable)' : ''}`,
  ]);
  const width = Math.max(...rows.map(([flag]) => flag?.length ?? 0));
  return rows.map(([flag, text]) => `  ${(flag ?? '').padEnd(width)}  ${text}`);
}

/** Help of one command. */
export function commandHelp<Context>(command: CommandSpec<Context>, program: string): string {
  return [
    `Usage: ${usageLine(command, program)}`,
    '',
    command.summary,
    ...(command.description ? ['', command.description] : []),
    '',
    'Options:',
    ...optionLines({ ...command.options, ...GLOBAL_OPTIONS }),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
  ].join('\n');
}

function commandList<Context>(commands: readonly CommandSpec<Context>[]): string[] {
  const rows = commands.map((c) => [
    `${c.group} ${c.name}${c.args.map((a) => ` <${a}>`).join('')}`,
    c.summary,
  ]);
  const width = Math.max(...rows.map(([u]) => u?.length ?? 0));
  return rows.map(([u, s]) => `  ${(u ?? '').padEnd(width)}  ${s}`);
}

function groupHelp<Context>(
  group: string,
  commands: readonly CommandSpec<Context>[],
  program: string,
): string {
  return [
    `Usage: ${program} ${group} <command> [options]`,
    '',
    'Commands:',
    ...commandList(commands),
    '',
    `Run "${program} ${group} <command> --help" for a command's options.`,
  ].join('\n');
}

/** Help of the whole program. */
export function programHelp<Context>(
  commands: readonly CommandSpec<Context>[],
  program: string,
): string {
  return [
    `Usage: ${program} <command> [options]`,
    '',
    'Manages API keys, customer limits, temporary overrides and the global policy of an',
    'edgelimit worker through its admin API.',
    '',
    'Commands:',
    ...commandList(commands),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 done, 1 the API refused or could not be reached, 2 bad command line.',
    `Run "${program} <command> --help" for a command's options.`,
  ].join('\n');
}
