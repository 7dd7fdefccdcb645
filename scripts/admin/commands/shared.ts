/** What every admin CLI command group shares: the context, option readers, customer printing. */
import { z } from 'zod';
import {
  customerRecordSchema,
  type EndpointRule,
  type Override,
  overrideSchema,
  policyConfigSchema,
  type ThrottleConfig,
  TIERS,
} from '../../../src/policy/records';
import { activeOverride } from '../../../src/policy/resolve-policy';
import type { CommandSpec, ParsedCommand } from '../args';
import type { AdminClient } from '../client';
import { effectiveLimits } from '../effective-limits';
import { ApiError, UsageError } from '../errors';
import { formatFields, formatLimits, formatTable, formatTime, section } from '../format';

/** What a command needs from the outside world. */
export interface CommandContext {
  /** The admin API client; resolving it may throw a UsageError (no token). */
  client(): AdminClient;
  /** Writes one block of output to stdout. */
  out(text: string): void;
  readonly json: boolean;
  readonly now: number;
}

export type Command = CommandSpec<CommandContext>;

// Responses are read leniently (unknown fields ignored) but still validated: they enter the CLI.
export const customerResponse = z.object({
  ...customerRecordSchema.shape,
  customerId: z.string(),
  activeOverride: overrideSchema.nullable().optional(),
});

export type CustomerResponse = z.infer<typeof customerResponse>;

export const keyResponse = z.object({
  key: z.string(),
  customerId: z.string(),
  tier: z.string(),
  prefix: z.string().optional(),
  id: z.string().optional(),
});

export const keyListResponse = z.object({
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

export const customerListResponse = z.object({
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

export const endedResponse = z.object({
  customerId: z.string(),
  ended: z.array(overrideSchema),
  activeOverride: overrideSchema.nullable(),
});

export const policyResponse = z.object(policyConfigSchema.shape);

export const overrideResponse = z.object({ customerId: z.string(), override: overrideSchema });

export function read<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError(
      `unexpected ${what} from the admin API: ${parsed.error.issues[0]?.message}`,
      200,
    );
  }
  return parsed.data;
}

export function str(parsed: ParsedCommand, key: string): string | undefined {
  const value = parsed.options[key];
  return typeof value === 'string' ? value : undefined;
}

export function list(parsed: ParsedCommand, key: string): string[] {
  const value = parsed.options[key];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

export function arg(parsed: ParsedCommand, index: number): string {
  return parsed.positionals[index] ?? '';
}

export function tierOption(
  parsed: ParsedCommand,
  label: string,
): (typeof TIERS)[number] | undefined {
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
export function storedFields(customer: CustomerResponse | null): Record<string, unknown> {
  if (!customer) return {};
  return withoutFields(customer, ['customerId', 'activeOverride', 'overrides', 'updatedAt']);
}

export function withoutFields(
  record: Readonly<Record<string, unknown>>,
  names: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !names.includes(k)));
}

export const customerPath = (id: string) => `/customers/${encodeURIComponent(id)}`;

/** GET a customer, or `null` when there is no record. */
export async function fetchCustomer(
  client: AdminClient,
  id: string,
): Promise<CustomerResponse | null> {
  try {
    return read(customerResponse, await client.get(customerPath(id)), 'customer');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function describeThrottle(throttle: ThrottleConfig | undefined): string {
  if (!throttle) return 'off';
  return `warn from ${Math.round(throttle.softAt * 100)}% of a window, delay up to ${throttle.maxDelayMs} ms`;
}

export function overrideRows(overrides: readonly Override[], now: number): string[][] {
  const inForce = activeOverride(overrides, now);
  return overrides.map((o) => [
    formatLimits(o.limits),
    formatTime(o.expiresAt, now),
    o === inForce ? 'in force' : Date.parse(o.expiresAt) > now ? 'superseded' : 'expired',
    o.reason,
  ]);
}

export function endpointTable(rules: readonly EndpointRule[]): string {
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

export async function printCustomer(
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

/**
 * What `keys revoke` was given: an id as `keys list` prints it (12 hex digits), a prefix (at most
 * 10 characters, as `keys create` prints it), else the key itself.
 */
export function keyReference(value: string): { id: string } | { prefix: string } | { key: string } {
  if (/^[0-9a-f]{12}$/.test(value)) return { id: value };
  if (value.length <= 10) return { prefix: value };
  return { key: value };
}
