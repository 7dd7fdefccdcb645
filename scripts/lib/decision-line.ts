/**
 * The compact request line `npm run dev` prints for each `decision` log line the worker writes
 * (method, path, caller, outcome, what is left). Pure: wrangler's output in, lines out.
 */
import { z } from 'zod';

const decisionSchema = z.object({
  event: z.literal('decision'),
  time: z.string(),
  method: z.string(),
  path: z.string(),
  caller: z.string(),
  status: z.number(),
  outcome: z.string(),
  window: z.string().optional(),
  remaining: z.number().optional(),
  limit: z.number().optional(),
});

/** One decision, as the worker logged it. */
export type DecisionLine = z.infer<typeof decisionSchema>;

/** The decision in one line of wrangler's output, or `undefined` for any other line. */
export function parseDecision(line: string): DecisionLine | undefined {
  const start = line.indexOf('{');
  if (start < 0 || !line.includes('"event":"decision"')) return undefined;
  try {
    const parsed = decisionSchema.safeParse(JSON.parse(line.slice(start)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Formats a decision as one short line in local time.
 * @example formatDecision(d) // '13:05:42  POST /v1/search  demo-free  429 rejected  search:minute 0/10 left'
 */
export function formatDecision(d: DecisionLine): string {
  const at = new Date(d.time);
  const time = Number.isNaN(at.getTime()) ? d.time : at.toTimeString().slice(0, 8);
  const left =
    d.window !== undefined && d.remaining !== undefined && d.limit !== undefined
      ? `  ${d.window} ${d.remaining}/${d.limit} left`
      : '';
  return `${time}  ${d.method} ${d.path}  ${d.caller}  ${d.status} ${d.outcome}${left}`;
}

/** Splits a stream of output chunks into whole lines, keeping the unfinished tail. */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) onLine(part);
  };
}
