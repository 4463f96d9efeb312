/** A `host:port` address split in two; IPv6 hosts may be bracketed (`[::1]:7051`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`. Throws TypeError when there is no valid port. */
export function parseHostPort(address: string): HostPort {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`not a host:port address: ${address}`);
  }
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}
