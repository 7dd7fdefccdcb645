/** A {@link UsageSql} over node:sqlite, so the usage SQL runs in Node with no Workers runtime. */
import { DatabaseSync } from 'node:sqlite';
import type { Row, SqlValue, UsageSql } from '../../src/telemetry/usage-schema';

/** An in-memory SQLite database shaped like a Durable Object's `SqlStorage`. */
export function nodeSql(): UsageSql {
  const db = new DatabaseSync(':memory:');
  return {
    exec(query: string, ...bindings: SqlValue[]) {
      const values = bindings.map((b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : b));
      if (!values.length && query.includes(';')) {
        db.exec(query);
        return { toArray: () => [], rowsWritten: 0 };
      }
      const statement = db.prepare(query);
      if (/^\s*SELECT/i.test(query)) {
        const rows = statement.all(...values) as Row[];
        return { toArray: () => rows, rowsWritten: 0 };
      }
      const { changes } = statement.run(...values);
      return { toArray: () => [], rowsWritten: Number(changes) };
    },
  };
}
