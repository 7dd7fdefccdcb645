/** The admin CLI's `keys create` and `keys revoke`: API keys. */
import { z } from 'zod';
import { formatFields } from '../format';
import { arg, type Command, keyResponse, read, tierOption } from './shared';

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
  args: ['key'],
  summary: 'Revoke an API key; requests with it get 401 within the config TTL (10 s default).',
  options: {},
  examples: ['npm run admin -- keys revoke el_Xk3...'],
  async run(parsed, context) {
    const raw = await context.client().post('/keys/revoke', { key: arg(parsed, 0) });
    if (context.json) {
      context.out(JSON.stringify(raw, null, 2));
      return;
    }
    const done = read(z.object({ customerId: z.string() }), raw, 'revocation');
    context.out(
      formatFields([
        ['revoked', 'yes'],
        ['customer', done.customerId],
      ]),
    );
  },
};

/** The `keys` commands, in help order. */
export const KEYS_COMMANDS: readonly Command[] = [keysCreate, keysRevoke];
