/** The admin CLI's two kinds of failure and the exit code each maps to. */

/** Bad command line: unknown command or option, missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
  /** `keys create`, so the message can point at that command's `--help`. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** The admin API refused the request or could not be reached. Exit code 1. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly exitCode = 1;
  constructor(
    message: string,
    /** HTTP status, or 0 when the worker could not be reached. */
    readonly status: number,
    /** The problem+json body, when the API sent one. */
    readonly problem?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}
