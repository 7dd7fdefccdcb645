/** The admin CLI's `keys create` and `keys revoke`: API keys. */
import { z } from 'zod';
import { formatFields, formatTable } from '../format';
import {
  arg,
  type Command,
  keyListResponse,
  keyReference,
  keyResponse,
  read,
  str,
  tierOption,
} from './shared';

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

/** The `keys` commands, in help order. */
export const KEYS_COMMANDS: readonly Command[] = [keysCreate, keysRevoke, keysList];
