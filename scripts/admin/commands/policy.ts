/** The admin CLI's `policy show|set|reset`: the global policy. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors';
import { formatFields, formatLimits, formatTable, section } from '../format';
import {
  arg,
  type Command,
  type CommandContext,
  describeThrottle,
  policyResponse,
  read,
} from './shared';

function printPolicy(context: CommandContext, raw: unknown): void {
  if (context.json) {
    context.out(JSON.stringify(raw, null, 2));
    return;
  }
  const policy = read(policyResponse, raw, 'policy');
  const tiers = ['free', 'pro', 'enterprise', 'anonymous'] as const;
  context.out(
    [
      section(
        'Tiers',
        formatTable(
          ['tier', 'limits'],
          tiers.map((t) => [t, formatLimits(policy.tiers[t])]),
        ),
      ),
      '',
      section(
        'Endpoint rules',
        policy.endpoints.length
          ? formatTable(
              ['id', 'method', 'path', ...tiers, 'mode'],
              policy.endpoints.map((r) => [
                r.id,
                r.method,
                r.path,
                ...tiers.map((t) => formatLimits(r.limits[t] ?? []) || '-'),
                r.shadow ? 'shadow' : 'enforce',
              ]),
            )
          : '',
      ),
      '',
      formatFields([
        ['key guessing', `${formatLimits(policy.keyGuessLimit)} failed lookups per client IP`],
        ['throttle', describeThrottle(policy.throttle)],
      ]),
    ].join('\n'),
  );
}

const policyShow: Command = {
  group: 'policy',
  name: 'show',
  args: [],
  summary: 'Show the global policy: tier defaults, endpoint rules, key-guess limit, throttling.',
  options: {},
  examples: ['npm run admin -- policy show', 'npm run admin -- policy show --json > policy.json'],
  async run(_parsed, context) {
    printPolicy(context, await context.client().get('/policy'));
  },
};

const policySet: Command = {
  group: 'policy',
  name: 'set',
  args: ['file.json'],
  summary: 'Replace the global policy with a JSON file (validated by the worker).',
  description:
    'Start from "policy show --json"; the schema is policyConfigSchema in src/policy/records.ts.',
  options: {},
  examples: ['npm run admin -- policy set policy.json'],
  async run(parsed, context) {
    const file = arg(parsed, 0);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
        'policy set',
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        'policy set',
      );
    }
    printPolicy(context, await context.client().put('/policy', body));
  },
};

const policyReset: Command = {
  group: 'policy',
  name: 'reset',
  args: [],
  summary: 'Delete the stored policy: the built-in default applies again.',
  options: {},
  examples: ['npm run admin -- policy reset'],
  async run(_parsed, context) {
    printPolicy(context, await context.client().delete('/policy'));
  },
};

/** The `policy` commands, in help order. */
export const POLICY_COMMANDS: readonly Command[] = [policyShow, policySet, policyReset];
