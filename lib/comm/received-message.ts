import type { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit } from '../wire/signed-message.js';
import type { ConnectionInfo } from './connection-info.js';

/** How a ReceivedMessage sends its answers back: over the connection it came on. */
export interface Responder {
  respond(received: ReceivedMessage, message: SignedMessage): Promise<void>;
}

/**
 * A message received from a remote peer (Fabric's ReceivedMessage): the decoded GossipMessage,
 * the Envelope it came in, who sent it, and a way to answer on the same connection.
 */
export class ReceivedMessage {
  constructor(
    /** The envelope as received, with its payload bytes untouched (forward this, not a copy). */
    readonly signedMessage: SignedMessage,
    /** The authenticated sender. */
    readonly connectionInfo: ConnectionInfo,
    /** Id of the connection it arrived on. */
    readonly connectionId: number,
    private readonly responder: Responder,
  ) {}

  /** The decoded GossipMessage. */
  get message(): gossip.GossipMessage {
    return this.signedMessage.message;
  }

  /** The Envelope the message came in. */
  get envelope(): gossip.IEnvelope {
    return this.signedMessage.envelope;
  }

  /**
   * Sends `message` back to the sender, over the connection this message came on (or, if that
   * one has closed since, over the current connection to the same peer). Like Fabric, a response
   * waits for room in the outbound buffer instead of being dropped. The promise resolves once the
   * response is queued on the connection (at once when there is room) and rejects if it cannot
   * be; ignoring it is safe. A queued response that the connection closes before writing is
   * counted and reported on `drops$`, like any other message.
   */
  respond(message: GossipMessageInit | SignedMessage): Promise<void> {
    const signed = message instanceof SignedMessage ? message : SignedMessage.create(message);
    const pending = this.responder.respond(this, signed);
    pending.catch(() => undefined);
    return pending;
  }

  /**
   * Answers an acknowledged send (Fabric 2.x SendWithAck): `GossipMessage{ nonce: same,
   * ack: { error } }`; no error means success.
   */
  ack(error?: Error | string): Promise<void> {
    const text = error === undefined ? '' : typeof error === 'string' ? error : error.message;
    return this.respond({ nonce: this.message.nonce, ack: { error: text } });
  }
}
