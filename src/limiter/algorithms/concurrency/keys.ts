/**
 * The concurrency algorithm's key layout (documented in docs/storage-schema.md):
 *
 * | key                           | type | holds                                        |
 * |-------------------------------|------|----------------------------------------------|
 * | `el:{<identity>}:<id>:slots`  | hash | slot token -> epoch ms its lease ends         |
 *
 * The lease length is not in the key: a changed origin timeout keeps counting the same slots.
 * The hash tag keeps the slots in the slot of the identity's windows, so one script sees both.
 */
import type { WindowSpec } from '../../contract';

const SUFFIX = ':slots';

/** Key of the slots of one concurrency limit of one identity. */
export function slotKey(identity: string, spec: WindowSpec): string {
  return `el:{${identity}}:${spec.id}${SUFFIX}`;
}

/** True for a key made by {@link slotKey}. */
export function isSlotKey(key: string): boolean {
  return key.endsWith(SUFFIX);
}
