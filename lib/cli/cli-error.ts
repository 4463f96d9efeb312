/** Exit codes of the rxgossip command. */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The operation failed: unreachable host, refused handshake, timeout, connection lost. */
  Failure: 1,
  /** Bad input: unknown option, malformed value, unusable peer directory or file. */
  Usage: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line (no stack) and turns into an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.Failure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad input: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Usage, options);
    this.name = 'UsageError';
  }
}
