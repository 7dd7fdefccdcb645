import { UsageError } from '../errors';
import { formatLimits, formatTable } from '../format';
import { parseEndpoint, parseLimits, parseThrottle } from '../values';
import {
  arg,
  type Command,
  customerListResponse,
  customerPath,
  customerResponse,
  fetchCustomer,
  list,
  printCustomer,
  read,
  storedFields,
  str,
  tierOption,
  withoutFields,
} from './shared';

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

/** The `customers` commands, in help order. */
export const CUSTOMERS_COMMANDS: readonly Command[] = [
  customersList,
  customersShow,
  customersSet,
  customersRemoveLimits,
  customersDelete,
];
