/** Structured logs: one JSON line per notable event, never with secrets or raw API keys. */

/** Events operators filter on. */
export type LogEvent =
  | 'rejected'
  | 'decision'
  | 'approaching-limit'
  | 'store-error'
  | 'breaker-change'
  | 'config-error'
  | 'auth-failure'
  | 'alert'
  | 'alert-delivery-failed'
  | 'override-applied'
  | 'override-ended'
  | 'shadow-would-reject'
  | 'increase-request'
  | 'origin-error'
  | 'internal-error';

/** Fields of a log line; values must already be safe to log (hashes, ids, never keys). */
export type LogFields = Record<
  string,
  string | number | boolean | null | undefined | readonly string[]
>;

/** Where log lines go; tests collect them. */
export type LogSink = (line: string) => void;

let sink: LogSink = (line) => console.log(line);

/** Replaces the log sink (tests). Returns the previous one. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Writes one structured log line. */
export function log(
  event: LogEvent,
  fields: LogFields = {},
  level: 'info' | 'warn' | 'error' = 'info',
): void {
  sink(JSON.stringify({ level, event, time: new Date().toISOString(), ...fields }));
}
