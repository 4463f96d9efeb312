import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { Option } from 'commander';

/** The levels `--log-level` accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** How log records are written. */
export interface CliLoggerOptions {
  readonly level: LevelWithSilent;
  /** Human-readable, coloured lines (pino-pretty); default: when stderr is a TTY. */
  readonly pretty?: boolean;
}

/**
 * The CLI's logger: pino on stderr (stdout carries the command's output), pino-pretty on a TTY,
 * JSON lines otherwise. Synchronous, so nothing is lost when the process exits. It is passed to
 * comm as its Logger; the library itself stays silent without one.
 */
export function createCliLogger(options: CliLoggerOptions): PinoLogger {
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  const base = { level: options.level, base: { pid: process.pid } };
  if (usePretty) {
    return pino(base, pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** The `--log-level` option, with its choices. */
export function logLevelOption(defaultLevel: LevelWithSilent): Option {
  return new Option('--log-level <level>', 'log level; logs go to stderr (pretty on a TTY, JSON lines otherwise)')
    .choices(LOG_LEVELS)
    .default(defaultLevel);
}
