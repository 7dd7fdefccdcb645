/** The admin CLI's commands: what each sends to the admin API and how it prints the answer. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import {
  customerRecordSchema,
  type EndpointRule,
  type Override,
  overrideSchema,
  policyConfigSchema,
  type ThrottleConfig,
  TIERS,
} from '../../src/policy/records';
import { activeOverride } from '../../src/policy/resolve-policy';
import type { CommandSpec, ParsedCommand } from './args';
import type { AdminClient } from './client';
import { effectiveLimits } from './effective-limits';
import { ApiError, UsageError } from './errors';
import { formatFields, formatLimits, formatTable, formatTime, section } from './format';
import { parseEndpoint, parseLimits, parseThrottle, parseUntil } from './values';

/** What a command needs from the outside world. */
export interface CommandContext {
  /** The admin API client; resolving it may throw a UsageError (no token). */
  client(): AdminClient;
  /** Writes one block of output to stdout. */
  out(text: string): void;
  readonly json: boolean;
  readonly now: number;
}

type Command = CommandSpec<CommandContext>;

// Responses are read leniently (unknown fields ignored) but still validated: they enter the CLI.
const customerResponse = z.object({
  ...customerRecordSchema.shape,
  customerId: z.string(),
  activeOverride: overrideSchema.nullable().optional(),
});
type CustomerResponse = z.infer<typeof customerResponse>;
const keyResponse = z.object({
  key: z.string(),
  customerId: z.string(),
  tier: z.string(),
  prefix: z.string().optional(),
  id: z.string().optional(),
});
const keyListResponse = z.object({
  keys: z.array(
    z.object({
      id: z.string(),
      prefix: z.string().nullable(),
      customerId: z.string(),
      createdAt: z.string(),
      revoked: z.boolean(),
    }),
  ),
});
const customerListResponse = z.object({
  customers: z.array(
    z.object({
      customerId: z.string(),
      tier: z.string().nullable(),
      invalid: z.boolean().optional(),
      limits: z.array(z.object({ limit: z.number(), window: z.string() })).nullish(),
      endpoints: z.number().optional(),
      activeOverride: overrideSchema.nullish(),
      updatedAt: z.string().nullish(),
    }),
  ),
});
const endedResponse = z.object({
  customerId: z.string(),
  ended: z.array(overrideSchema),
  activeOverride: overrideSchema.nullable(),
});
const policyResponse = z.object(policyConfigSchema.shape);
const overrideResponse = z.object({ customerId: z.string(), override: overrideSchema });

function read<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError(
      `unexpected ${what} from the admin API: ${parsed.error.issues[0]?.message}`,
      200,
    );
  }
  return parsed.data;
}

function str(parsed: ParsedCommand, key: string): string | undefined {
  const value = parsed.options[key];
  return typeof value === 'string' ? value : undefined;
}

function list(parsed: ParsedCommand, key: string): string[] {
  const value = parsed.options[key];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

function arg(parsed: ParsedCommand, index: number): string {
  return parsed.positionals[index] ?? '';
}

function tierOption(parsed: ParsedCommand, label: string): (typeof TIERS)[number] | undefined {
  const tier = str(parsed, 'tier');
  if (tier === undefined) return undefined;
  const known = TIERS.find((t) => t === tier);
  if (!known) {
    throw new UsageError(
      `--tier ${JSON.stringify(tier)}: must be one of ${TIERS.join(', ')}`,
      label,
    );
  }
  return known;
}

/**
 * The writable fields of a customer as the API returned it: everything but the read-only ones,
 * so settings this CLI does not know about (added to the schema later) survive a `set`.
 */
function storedFields(customer: CustomerResponse | null): Record<string, unknown> {
  if (!customer) return {};
  return withoutFields(customer, ['customerId', 'activeOverride', 'overrides', 'updatedAt']);
}

function withoutFields(
  record: Readonly<Record<string, unknown>>,
  names: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !names.includes(k)));
}

const customerPath = (id: string) => `/customers/${encodeURIComponent(id)}`;

/** GET a customer, or `null` when there is no record. */
async function fetchCustomer(client: AdminClient, id: string): Promise<CustomerResponse | null> {
  try {
    return read(customerResponse, await client.get(customerPath(id)), 'customer');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function describeThrottle(throttle: ThrottleConfig | undefined): string {
  if (!throttle) return 'off';
  return `warn from ${Math.round(throttle.softAt * 100)}% of a window, delay up to ${throttle.maxDelayMs} ms`;
}

function overrideRows(overrides: readonly Override[], now: number): string[][] {
  const inForce = activeOverride(overrides, now);
  return overrides.map((o) => [
    formatLimits(o.limits),
    formatTime(o.expiresAt, now),
    o === inForce ? 'in force' : Date.parse(o.expiresAt) > now ? 'superseded' : 'expired',
    o.reason,
  ]);
}

function endpointTable(rules: readonly EndpointRule[]): string {
  return formatTable(
    ['id', 'method', 'path', 'limits', 'mode'],
    rules.map((r) => [
      r.id,
      r.method,
      r.path,
      formatLimits(r.limits),
      r.shadow ? 'shadow' : 'enforce',
    ]),
  );
}

async function printCustomer(
  context: CommandContext,
  customer: CustomerResponse,
  raw: unknown,
): Promise<void> {
  if (context.json) {
    context.out(JSON.stringify(raw, null, 2));
    return;
  }
  const { now } = context;
  const policy = read(policyResponse, await context.client().get('/policy'), 'policy');
  const limits = customer.unlimited
    ? 'unlimited (no tier or custom limit; endpoint rules still apply)'
    : customer.limits?.length
      ? `${formatLimits(customer.limits)} (custom)`
      : `${formatLimits(policy.tiers[customer.tier])} (${customer.tier} tier default)`;
  const effective = effectiveLimits(policy, customer, now);
  const override = activeOverride(customer.overrides, now);
  context.out(
    [
      formatFields([
        ['customer', customer.customerId],
        ['tier', customer.tier],
        ['limits', limits],
        [
          'override',
          override
            ? `${formatLimits(override.limits)} until ${formatTime(override.expiresAt, now)}: ${override.reason}`
            : 'none',
        ],
        ['fail mode', customer.failMode ?? 'open'],
        ['throttle', describeThrottle(customer.throttle)],
        ['updated', customer.updatedAt],
      ]),
      '',
      section(
        'Effective limits (what the worker applies now)',
        formatTable(
          ['limit', 'applies to', 'mode', 'from'],
          effective.map((e) => [
            `${e.limit.limit}/${e.limit.window}`,
            e.appliesTo,
            e.shadow ? 'shadow' : 'enforce',
            e.source,
          ]),
        ),
      ),
      '',
      section(
        "Customer's own endpoint rules",
        customer.endpoints?.length ? endpointTable(customer.endpoints) : '',
      ),
      '',
      section(
        'Overrides',
        customer.overrides?.length
          ? formatTable(
              ['limits', 'expires', 'status', 'reason'],
              overrideRows(customer.overrides, now),
            )
          : '',
      ),
    ].join('\n'),
  );
}

const keysCreate: Command = {
  group: 'keys',
  name: 'create',
  args: ['customerId'],
  summary: 'Create an API key for a customer (creating the customer on its tier if new).',
  description:
    'The key is shown once and stored only as a SHA-256 hash. --tier also moves an existing\n' +
    'customer to that tier; without it a new customer starts on free.',
  options: {
    tier: { type: 'string', value: '<free|pro|enterprise>', description: 'tier of the customer' },
  },
  examples: ['npm run admin -- keys create acme --tier pro'],
  async run(parsed, context) {
    const tier = tierOption(parsed, 'keys create');
    const raw = await context
      .client()
      .post('/keys', { customerId: arg(parsed, 0), ...(tier ? { tier } : {}) });
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const key = read(keyResponse, raw, 'key');
    context.out(
      [
        formatFields([
          ['key', key.key],
          ['customer', key.customerId],
          ['tier', key.tier],
          ['prefix', key.prefix],
          ['id', key.id],
        ]),
        '',
        'Store the key now: it is not shown again.',
      ].join('\n'),
    );
  },
};

/**
 * What `keys revoke` was given: an id as `keys list` prints it (12 hex digits), a prefix (at most
 * 10 characters, as `keys create` prints it), else the key itself.
 */
export function keyReference(value: string): { id: string } | { prefix: string } | { key: string } {
  if (/^[0-9a-f]{12}$/.test(value)) return { id: value };
  if (value.length <= 10) return { prefix: value };
  return { key: value };
}

const keysRevoke: Command = {
  group: 'keys',
  name: 'revoke',
  args: ['key|id|prefix'],
  summary: 'Revoke an API key; requests with it get 401 within the config TTL (10 s default).',
  description:
    'Give the key itself, its id (12 hex digits, from "keys list") or its prefix (from\n' +
    '"keys create" or "keys list"; refused when several live keys share it).',
  options: {},
  examples: [
    'npm run admin -- keys revoke 3f9a1c0b7d2e',
    'npm run admin -- keys revoke el_Wa6R1ho',
    'npm run admin -- keys revoke el_Xk3...',
  ],
  async run(parsed, context) {
    const raw = await context.client().post('/keys/revoke', keyReference(arg(parsed, 0)));
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const done = read(
      z.object({
        customerId: z.string(),
        id: z.string().optional(),
        prefix: z.string().optional(),
      }),
      raw,
      'revocation',
    );
    context.out(
      formatFields([
        ['revoked', 'yes'],
        ['customer', done.customerId],
        ['id', done.id],
        ['prefix', done.prefix],
      ]),
    );
  },
};

const keysList: Command = {
  group: 'keys',
  name: 'list',
  args: [],
  summary: 'List API keys (id, prefix, customer, created, status); never the keys themselves.',
  options: {
    customer: { type: 'string', value: '<id>', description: "only this customer's keys" },
  },
  examples: ['npm run admin -- keys list', 'npm run admin -- keys list --customer acme'],
  async run(parsed, context) {
    const customer = str(parsed, 'customer');
    const query = customer ? `?customerId=${encodeURIComponent(customer)}` : '';
    const raw = await context.client().get(`/keys${query}`);
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const { keys } = read(keyListResponse, raw, 'key list');
    context.out(
      keys.length
        ? formatTable(
            ['id', 'prefix', 'customer', 'created', 'status'],
            keys.map((k) => [
              k.id,
              k.prefix ?? '-',
              k.customerId,
              k.createdAt,
              k.revoked ? 'revoked' : 'active',
            ]),
          )
        : customer
          ? `${customer} has no API keys.`
          : 'No API keys.',
    );
  },
};

const customersList: Command = {
  group: 'customers',
  name: 'list',
  args: [],
  summary: 'List customers: tier, custom limits, override in force, last update.',
  options: {},
  examples: ['npm run admin -- customers list'],
  async run(_parsed, context) {
    const raw = await context.client().get('/customers');
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const { customers } = read(customerListResponse, raw, 'customer list');
    context.out(
      customers.length
        ? formatTable(
            ['id', 'tier', 'limits', 'rules', 'override', 'updated'],
            customers.map((c) =>
              c.invalid
                ? [c.customerId, '(invalid record)', '', '', '', '']
                : [
                    c.customerId,
                    c.tier ?? '-',
                    c.limits?.length ? formatLimits(c.limits) : 'tier default',
                    String(c.endpoints ?? 0),
                    c.activeOverride
                      ? `${formatLimits(c.activeOverride.limits)} until ${c.activeOverride.expiresAt}`
                      : '-',
                    c.updatedAt ?? '-',
                  ],
            ),
          )
        : 'No customers.',
    );
  },
};

const customersShow: Command = {
  group: 'customers',
  name: 'show',
  args: ['id'],
  summary:
    "Show a customer's record and the effective limits the worker applies, with where each comes from.",
  options: {},
  examples: ['npm run admin -- customers show demo-enterprise'],
  async run(parsed, context) {
    const raw = await context.client().get(customerPath(arg(parsed, 0)));
    await printCustomer(context, read(customerResponse, raw, 'customer'), raw);
  },
};

const customersSet: Command = {
  group: 'customers',
  name: 'set',
  args: ['id'],
  summary: "Create or change a customer's record (fields not given are kept).",
  description:
    '--limit replaces all custom limits and --endpoint all endpoint rules of the customer;\n' +
    'overrides are never touched. Endpoint rule syntax: <id>:<METHOD>:<path>:<limits>[:shadow],\n' +
    'where <limits> is <count>/<window>[,<count>/<window>...] and the path may use :param, * and **.',
  options: {
    tier: {
      type: 'string',
      value: '<free|pro|enterprise>',
      description: 'tier (required for a new customer)',
    },
    limit: {
      type: 'string',
      multiple: true,
      value: '<count>/<window>',
      description: 'custom limit replacing the tier default, e.g. 10000/1d',
    },
    unlimited: {
      type: 'boolean',
      description: 'no tier or custom limit at all (endpoint rules still apply); --limit undoes it',
    },
    endpoint: {
      type: 'string',
      multiple: true,
      value: '<rule>',
      description: "endpoint rule, e.g. 'search:POST:/v1/search:10/1m'",
    },
    'clear-endpoints': { type: 'boolean', description: "drop the customer's endpoint rules" },
    'fail-closed': { type: 'boolean', description: 'reject (503) when the counter store fails' },
    'fail-open': {
      type: 'boolean',
      description: 'let requests through when the store fails (default)',
    },
    throttle: {
      type: 'string',
      value: '<softAt>:<maxDelayMs>|off',
      description: 'graduated throttling, e.g. 0.8:500 or 80%:500',
    },
  },
  examples: [
    'npm run admin -- customers set acme --tier enterprise --limit 50/10s --limit 100000/1d',
    "npm run admin -- customers set acme --endpoint 'search:POST:/v1/search:3/5s' --fail-closed",
    'npm run admin -- customers set acme --throttle 0.8:500',
  ],
  async run(parsed, context) {
    const label = 'customers set';
    const id = arg(parsed, 0);
    const tier = tierOption(parsed, label);
    const limits = list(parsed, 'limit');
    const endpoints = list(parsed, 'endpoint');
    if (parsed.options['fail-closed'] && parsed.options['fail-open']) {
      throw new UsageError('--fail-closed and --fail-open exclude each other', label);
    }
    if (limits.length && parsed.options.unlimited) {
      throw new UsageError('--limit and --unlimited exclude each other', label);
    }
    if (endpoints.length && parsed.options['clear-endpoints']) {
      throw new UsageError('--endpoint and --clear-endpoints exclude each other', label);
    }
    const throttleText = str(parsed, 'throttle');
    const throttle = throttleText === undefined ? undefined : parseThrottle(throttleText);
    const newLimits = limits.length ? parseLimits(limits) : undefined;
    const newRules = endpoints.map(parseEndpoint);
    const client = context.client();
    const existing = await fetchCustomer(client, id);
    const finalTier = tier ?? existing?.tier;
    if (!finalTier) throw new UsageError(`${id} has no record yet: --tier is required`, label);
    const failMode = parsed.options['fail-closed']
      ? 'closed'
      : parsed.options['fail-open']
        ? 'open'
        : existing?.failMode;
    const kept = storedFields(existing);
    const rules = parsed.options['clear-endpoints']
      ? []
      : newRules.length
        ? newRules
        : (existing?.endpoints ?? []);
    const finalThrottle = throttle === 'off' ? undefined : (throttle ?? existing?.throttle);
    const unlimited = parsed.options.unlimited === true || (!newLimits && existing?.unlimited);
    const finalLimits = unlimited ? undefined : (newLimits ?? existing?.limits);
    const body = {
      ...withoutFields(kept, ['limits', 'unlimited', 'endpoints', 'failMode', 'throttle']),
      tier: finalTier,
      ...(unlimited ? { unlimited: true } : {}),
      ...(finalLimits ? { limits: finalLimits } : {}),
      ...(rules.length ? { endpoints: rules } : {}),
      ...(failMode ? { failMode } : {}),
      ...(finalThrottle ? { throttle: finalThrottle } : {}),
    };
    const raw = await client.put(customerPath(id), body);
    await printCustomer(context, read(customerResponse, raw, 'customer'), raw);
  },
};

const customersRemoveLimits: Command = {
  group: 'customers',
  name: 'remove-limits',
  args: ['id'],
  summary: "Drop a customer's custom limits (or unlimited): the tier defaults apply again.",
  options: {},
  examples: ['npm run admin -- customers remove-limits acme'],
  async run(parsed, context) {
    const id = arg(parsed, 0);
    const client = context.client();
    const existing = read(customerResponse, await client.get(customerPath(id)), 'customer');
    const raw = await client.put(
      customerPath(id),
      withoutFields(storedFields(existing), ['limits', 'unlimited']),
    );
    await printCustomer(context, read(customerResponse, raw, 'customer'), raw);
  },
};

const customersDelete: Command = {
  group: 'customers',
  name: 'delete',
  args: ['id'],
  summary: "Delete a customer's record (its keys stay valid and fall back to the free tier).",
  options: {},
  examples: ['npm run admin -- customers delete acme'],
  async run(parsed, context) {
    const raw = await context.client().delete(customerPath(arg(parsed, 0)));
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    context.out(
      `Deleted the record of ${arg(parsed, 0)}. Its API keys still work, on the free tier; ` +
        'revoke them with "keys revoke".',
    );
  },
};

const overridesAdd: Command = {
  group: 'overrides',
  name: 'add',
  args: ['id'],
  summary: "Raise a customer's limits temporarily; the increase ends by itself at --until.",
  description:
    'Each --limit replaces the limit of the same window (other windows stay) until the expiry.\n' +
    '--until takes an ISO 8601 date-time with offset or a time from now: +30m, +2h, +3d, +1w.',
  options: {
    limit: {
      type: 'string',
      multiple: true,
      required: true,
      value: '<count>/<window>',
      description: 'raised limit, e.g. 500/1m',
    },
    until: { type: 'string', required: true, value: '<ISO|+2h|+3d>', description: 'when it ends' },
    reason: {
      type: 'string',
      required: true,
      value: '<text>',
      description: 'why (kept in the record)',
    },
  },
  examples: [
    'npm run admin -- overrides add acme --limit 500/1m --until +2h --reason "launch day"',
  ],
  async run(parsed, context) {
    const label = 'overrides add';
    const limits = parseLimits(list(parsed, 'limit'));
    const expiresAt = parseUntil(str(parsed, 'until') ?? '', context.now);
    const reason = (str(parsed, 'reason') ?? '').trim();
    if (!reason) throw new UsageError('--reason must not be empty', label);
    const raw = await context
      .client()
      .post(`${customerPath(arg(parsed, 0))}/overrides`, { limits, expiresAt, reason });
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const done = read(overrideResponse, raw, 'override');
    context.out(
      formatFields([
        ['customer', done.customerId],
        ['limits', formatLimits(done.override.limits)],
        ['until', formatTime(done.override.expiresAt, context.now)],
        ['reason', done.override.reason],
      ]),
    );
  },
};

const overridesList: Command = {
  group: 'overrides',
  name: 'list',
  args: ['id'],
  summary: "List a customer's temporary overrides and which one is in force.",
  options: {},
  examples: ['npm run admin -- overrides list acme'],
  async run(parsed, context) {
    const raw = await context.client().get(customerPath(arg(parsed, 0)));
    const customer = read(customerResponse, raw, 'customer');
    if (context.json) {
      context.out(JSON.stringify(customer.overrides ?? [], null, 2));
      return;
    }
    context.out(
      customer.overrides?.length
        ? formatTable(
            ['limits', 'expires', 'status', 'reason'],
            overrideRows(customer.overrides, context.now),
          )
        : `${customer.customerId} has no overrides.`,
    );
  },
};

const overridesEnd: Command = {
  group: 'overrides',
  name: 'end',
  args: ['id'],
  summary: 'End the override in force now (it stays listed as expired); --all ends every one.',
  description:
    'Without --all, an overlapping override that runs longer comes into force in its place.',
  options: { all: { type: 'boolean', description: 'end every override not yet expired' } },
  examples: ['npm run admin -- overrides end acme', 'npm run admin -- overrides end acme --all'],
  async run(parsed, context) {
    const raw = await context
      .client()
      .post(
        `${customerPath(arg(parsed, 0))}/overrides/end`,
        parsed.options.all ? { all: true } : {},
      );
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const done = read(endedResponse, raw, 'ended overrides');
    const next = done.activeOverride;
    context.out(
      formatFields([
        ['customer', done.customerId],
        ['ended', done.ended.map((o) => `${formatLimits(o.limits)} (${o.reason})`).join('; ')],
        [
          'now in force',
          next
            ? `${formatLimits(next.limits)} until ${formatTime(next.expiresAt, context.now)}: ${next.reason}`
            : 'none (the usual limits apply)',
        ],
      ]),
    );
  },
};

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

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  keysCreate,
  keysList,
  keysRevoke,
  customersList,
  customersShow,
  customersSet,
  customersRemoveLimits,
  customersDelete,
  overridesAdd,
  overridesList,
  overridesEnd,
  policyShow,
  policySet,
  policyReset,
];
