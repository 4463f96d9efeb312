import { connect } from 'node:net';
import { ConnectError, HandshakeError, PeerDirError, StoppedError, TimeoutError } from '../errors.js';
import { CliError, UsageError } from './cli-error.js';
import type { HostPort } from './parse.js';
import { formatHostPort } from './parse.js';

/** What a refusal looks like once comm has wrapped it; the remote's own words follow. */
const REFUSAL_PREFIXES = [/^remote refused the handshake:\s*/, /^stream failed \([A-Z_]+\):\s*/];

/** The remote's reason in a HandshakeError('remote-refused'), without comm's wrapping. */
export function remoteReason(error: HandshakeError): string {
  let text = error.message;
  for (const prefix of REFUSAL_PREFIXES) text = text.replace(prefix, '');
  return text;
}

/**
 * Turns an error of probe(), handshake() or a send into the one line the CLI prints. When a dial
 * fails it checks whether TCP gets through, to tell "nothing listens there" from "something
 * answers but TLS/gRPC fails" (a wrong --tls-ca or --server-name, or TLS on one side only).
 */
export async function explainFailure(err: unknown, target: HostPort, tls: boolean, timeoutMs = 1_000): Promise<CliError> {
  const where = formatHostPort(target);
  if (err instanceof CliError) return err;
  if (err instanceof PeerDirError) return new UsageError(err.message, { cause: err });
  if (err instanceof HandshakeError) {
    if (err.reason === 'remote-refused') {
      return new CliError(`handshake refused by ${where}: ${remoteReason(err)}`, undefined, { cause: err });
    }
    return new CliError(`handshake with ${where} failed (${err.reason}): ${err.message}`, undefined, { cause: err });
  }
  if (err instanceof ConnectError && /TLS alert|after the TLS handshake/.test(err.message)) {
    // The dial already knows which side refused what; a TCP check would add nothing.
    return new CliError(`TLS handshake with ${where} failed: ${err.message.replace(/^.*?: (the server)/, '$1')}`, undefined, { cause: err });
  }
  if (err instanceof ConnectError || err instanceof TimeoutError) {
    const tcp = await tcpReachable(target, timeoutMs);
    if (tcp !== true) return new CliError(`cannot reach ${where}: ${tcp}`, undefined, { cause: err });
    const hint = tls
      ? 'TCP connects, so check that its TLS certificate is issued by a CA you trust (--tls-ca) for the name you dial (--server-name), and that it serves TLS'
      : 'TCP connects, so check that it serves plaintext gRPC (without --plaintext we use TLS)';
    return new CliError(`cannot reach ${where}: ${err.message}; ${hint}`, undefined, { cause: err });
  }
  if (err instanceof StoppedError) return new CliError('interrupted', undefined, { cause: err });
  return new CliError(`${where}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
}

/** true when a TCP connection to `target` opens within `timeoutMs`, else why not. */
export function tcpReachable(target: HostPort, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (result: true | string): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer to a TCP connection within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'connection refused (nothing listens on that port)' : e.code === 'ENOTFOUND' ? `unknown host ${target.host}` : e.message),
    );
  });
}
