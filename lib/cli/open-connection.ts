import { filter, type Subscription } from 'rxjs';
import type { Comm, ConnectionSummary } from '../comm/comm.js';
import type { ConnectionInfo } from '../comm/connection-info.js';
import { gossip } from '../proto/messages.js';

/**
 * The message that opens a connection: `GossipMessage{ tag: EMPTY, empty: {} }`. Fabric peers and
 * rxgossip accept it and do nothing with it.
 */
export const OPENING_MESSAGE = { nonce: 0, tag: gossip.GossipMessage.Tag.EMPTY, empty: {} } as const;

/** A connection opened by openConnection. */
export interface OpenedConnection {
  /** Who the remote is, from a probe handshake just before. */
  readonly info: ConnectionInfo;
  readonly connection: ConnectionSummary;
}

/**
 * Opens a lasting connection to `endpoint` and says who is there. First a probe handshake, so a
 * refusal comes back with the remote's reason (on a normal connection the remote's verdict arrives
 * only after ours, as a broken stream); then the opening message, which makes comm dial, handshake
 * and keep the connection. Rejects with the HandshakeError, ConnectError or TimeoutError that
 * stopped it.
 */
export async function openConnection(comm: Comm, endpoint: string): Promise<OpenedConnection> {
  const info = await comm.handshake({ endpoint });
  let failure: Error | undefined;
  const watch: Subscription = comm.handshakeFailures$
    .pipe(filter((f) => f.direction === 'outbound' && f.endpoint === endpoint))
    .subscribe((f) => (failure = f.error));
  try {
    await comm.sendAsync(OPENING_MESSAGE, { endpoint, pkiId: info.pkiId });
  } catch (err: unknown) {
    // A failed dial surfaces here as "message dropped: dial-failed"; the cause went to handshakeFailures$.
    throw failure ?? err;
  } finally {
    watch.unsubscribe();
  }
  const connection = comm.connections().find((c) => c.active && c.pkiId.equals(info.pkiId));
  if (!connection) throw new Error(`the connection to ${endpoint} closed as soon as it opened`);
  return { info, connection };
}
