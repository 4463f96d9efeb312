/** Where a command reads and writes: the process' streams, or others in tests. */
export interface CliIo {
  /** The command's output: results, events, messages. */
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Errors, status lines and log records. */
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
}

/** The process' own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Writes one line. */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${text}\n`);
}
