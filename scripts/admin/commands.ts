/** The admin CLI's commands, a file per group in commands/: what each sends and how it prints. */
import type { CommandSpec } from './args';
import { CUSTOMERS_COMMANDS } from './commands/customers';
import { KEYS_COMMANDS } from './commands/keys';
import { OVERRIDES_COMMANDS } from './commands/overrides';
import { POLICY_COMMANDS } from './commands/policy';
import type { CommandContext } from './commands/shared';

export type { CommandContext } from './commands/shared';

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec<CommandContext>[] = [
  ...KEYS_COMMANDS,
  ...CUSTOMERS_COMMANDS,
  ...OVERRIDES_COMMANDS,
  ...POLICY_COMMANDS,
];
