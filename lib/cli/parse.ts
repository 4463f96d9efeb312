import { InvalidArgumentError } from 'commander';

/** A parsed `HOST:PORT`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT` (IPv6 as `[::1]:7051`). Port 0 is allowed only when `allowZero` (to listen
 * on a free port). Throws commander's InvalidArgumentError, which it reports with the option name.
 */
export function parseHostPort(value: string, allowZero = false): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected HOST:PORT, got "${value}"`);
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port > 65_535 || (port === 0 && !allowZero)) {
    throw new InvalidArgumentError(`port must be ${allowZero ? '0' : '1'}..65535, got ${match[3]}`);
  }
  return { host, port };
}

/** `HOST:PORT` as grpc-js dials it (IPv6 in brackets). */
export function formatHostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A comma-separated list of `HOST:PORT`; empty items are ignored. */
export function parseHostPortList(value: string, previous: HostPort[] = []): HostPort[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return [...previous, ...items.map((item) => parseHostPort(item))];
}

/** A comma-separated list of non-empty strings, accumulated over repeated options. */
export function parseList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** An integer in [min, max]. */
export function parseInteger(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\s*-?\d+\s*$/.test(value)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) {
      throw new InvalidArgumentError(`expected ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min}..${max}`}, got ${n}`);
    }
    return n;
  };
}

/** A positive number of seconds (fractions allowed). */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  }
  return n;
}
