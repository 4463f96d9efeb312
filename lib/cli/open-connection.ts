import type { Comm, ConnectionSummary } from '../comm/comm.js';
import type { ConnectionInfo } from '../comm/connection-info.js';

/** A connection opened by openConnection. */
export interface OpenedConnection {
  /** Who the remote is, from a probe handshake just before. */
  readonly info: ConnectionInfo;
  readonly connection: ConnectionSummary;
}

/**
 * Opens a lasting connection to `endpoint` and says who is there. First a probe handshake, so a
 * refusal comes back with the remote's reason (on a normal connection the remote's verdict arrives
 * only after ours, as a broken stream); then comm.connect(), which dials, handshakes and keeps the
 * connection. Rejects with the HandshakeError, ConnectError or TimeoutError that stopped it.
 */
export async function openConnection(comm: Comm, endpoint: string): Promise<OpenedConnection> {
  const info = await comm.handshake({ endpoint });
  await comm.connect({ endpoint, pkiId: info.pkiId });
  const connection = comm.connections().find((c) => c.active && c.pkiId.equals(info.pkiId));
  if (!connection) throw new Error(`the connection to ${endpoint} closed as soon as it opened`);
  return { info, connection };
}
