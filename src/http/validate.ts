/** The one validator: a request's JSON body, query or parameter through a zod schema, or a 400. */
import type { z } from 'zod';
import type { EdgeContext } from './edge-env';
import { type FieldError, fail, problems } from './problem';

/** Where a value came from, named in errors about the value as a whole. */
type Source = '(body)' | '(query)' | '(param)';

/**
 * Parses `value` with `schema`, or throws the 400 problem naming every bad field (paths joined
 * with dots, `source` for the value as a whole).
 */
export function validate<T>(schema: z.ZodType<T>, value: unknown, source: Source): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  return fail(problems.invalidRequest(fieldErrors(parsed.error, source)));
}

/** Every issue of a zod error as a field error. */
export function fieldErrors(error: z.ZodError, source: Source): FieldError[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : source,
    message: i.message,
  }));
}

/** The request's JSON body through `schema`; a body that is not JSON is a 400 too. */
export async function jsonBody<T>(c: EdgeContext, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.raw.json();
  } catch {
    return fail(problems.invalidRequest([{ field: '(body)', message: 'must be a JSON object' }]));
  }
  return validate(schema, raw, '(body)');
}

/** The query string through `schema`. */
export function queryOf<T>(c: EdgeContext, schema: z.ZodType<T>): T {
  return validate(schema, c.req.query(), '(query)');
}

/** One path parameter through `schema`, named after the parameter when bad. */
export function paramOf<T>(c: EdgeContext, name: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.param(name));
  if (parsed.success) return parsed.data;
  return fail(
    problems.invalidRequest([
      { field: name, message: parsed.error.issues[0]?.message ?? 'invalid' },
    ]),
  );
}
