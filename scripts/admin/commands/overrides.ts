import { UsageError } from '../errors';
import { formatFields, formatLimits, formatTable, formatTime } from '../format';
import { parseLimits, parseUntil } from '../values';
import {
  arg,
  type Command,
  customerPath,
  customerResponse,
  endedResponse,
  list,
  overrideResponse,
  overrideRows,
  read,
  str,
} from './shared';

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

/** The `overrides` commands, in help order. */
export const OVERRIDES_COMMANDS: readonly Command[] = [overridesAdd, overridesList, overridesEnd];
