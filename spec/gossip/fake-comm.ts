// An in-memory Comm for the marble tests of the pipelines: what they receive is pushed in by the
// test, what they send and respond is recorded with the (virtual) time it happened.
import { Subject, filter, tap, type MonoTypeOperatorFunction, type Observable, type Observer } from 'rxjs';
import type { AggregatedSendResult } from '../../lib/comm/send-with-ack.js';
import type { Comm, CommStats, ConnectionSummary, DroppedMessage, HandshakeFailureEvent } from '../../lib/comm/comm.js';
import type { ConnectionInfo, RemotePeer } from '../../lib/comm/connection-info.js';
import { ReceivedMessage } from '../../lib/comm/received-message.js';
import { SignedMessage, type GossipMessageInit, type MessageSigner } from '../../lib/wire/signed-message.js';
import type { IdentityMapper } from '../../lib/identity/identity-mapper.js';
import { IdentityError, SignatureError } from '../../lib/errors.js';

export interface Sent {
  readonly at: number;
  readonly message: SignedMessage;
  readonly peers: readonly RemotePeer[];
}

export interface Responded {
  readonly at: number;
  readonly to: Buffer;
  readonly message: SignedMessage;
}

export function connectionInfo(pkiId: Uint8Array, endpoint = `${Buffer.from(pkiId).toString()}:7051`, identity = new Uint8Array(0)): ConnectionInfo {
  return {
    pkiId: Buffer.from(pkiId),
    identity,
    endpoint,
    auth: { signedData: new Uint8Array(0), signature: new Uint8Array(0) },
  };
}

export class FakeComm implements Comm {
  readonly sent: Sent[] = [];
  readonly responded: Responded[] = [];
  readonly closed: RemotePeer[] = [];
  private readonly inbound = new Subject<ReceivedMessage>();
  private readonly dead = new Subject<Buffer>();
  private readonly never = new Subject<never>();
  readonly presumedDead$: Observable<Buffer> = this.dead.asObservable();
  readonly drops$: Observable<DroppedMessage> = this.never.asObservable();
  readonly handshakeFailures$: Observable<HandshakeFailureEvent> = this.never.asObservable();
  /** Set by a test that needs them; the defaults sign nothing and trust nobody. */
  identity: Uint8Array = new Uint8Array(0);
  signer: MessageSigner = { sign: () => new Uint8Array(0) };
  identityMapper: IdentityMapper = new NoIdentities();

  constructor(
    private readonly pkiId: Buffer,
    readonly endpoint: string,
    private readonly now: () => number,
  ) {}

  /** Delivers `message` as received from `from`. */
  receive(message: GossipMessageInit | SignedMessage, from: ConnectionInfo): ReceivedMessage {
    const signed = message instanceof SignedMessage ? message : SignedMessage.create(message);
    const received = new ReceivedMessage(signed, from, 0, {
      respond: (r, answer) => {
        this.responded.push({ at: this.now(), to: r.connectionInfo.pkiId, message: answer });
        return Promise.resolve();
      },
    });
    this.inbound.next(received);
    return received;
  }

  presumeDead(pkiId: Buffer): void {
    this.dead.next(pkiId);
  }

  get observed(): boolean {
    return this.inbound.observed;
  }

  getPKIid(): Buffer {
    return Buffer.from(this.pkiId);
  }

  send(message: SignedMessage | GossipMessageInit, ...peers: RemotePeer[]): void {
    const signed = message instanceof SignedMessage ? message : SignedMessage.create(message);
    this.sent.push({ at: this.now(), message: signed, peers });
  }

  sendAsync(message: SignedMessage | GossipMessageInit, peer: RemotePeer): Promise<void> {
    this.send(message, peer);
    return Promise.resolve();
  }

  sendTo(peer: RemotePeer): Observer<SignedMessage | GossipMessageInit> {
    return { next: (m) => this.send(m, peer), error: () => undefined, complete: () => undefined };
  }

  queueTo<T extends SignedMessage | GossipMessageInit>(peer: RemotePeer): MonoTypeOperatorFunction<T> {
    return tap((m: T) => this.send(m, peer));
  }

  sendWithAck(): Promise<AggregatedSendResult> {
    return Promise.reject(new Error('FakeComm: sendWithAck is not used by the pipelines'));
  }

  probe(): Promise<number> {
    return Promise.reject(new Error('FakeComm: probe is not used by the pipelines'));
  }

  handshake(): Promise<ConnectionInfo> {
    return Promise.reject(new Error('FakeComm: handshake is not used by the pipelines'));
  }

  accept(predicate: (message: ReceivedMessage) => boolean = () => true): Observable<ReceivedMessage> {
    return this.inbound.pipe(filter(predicate));
  }

  closeConn(peer: RemotePeer): Promise<void> {
    this.closed.push(peer);
    return Promise.resolve();
  }

  connections(): ConnectionSummary[] {
    return [];
  }

  connect(): Promise<ConnectionInfo> {
    return Promise.reject(new Error('FakeComm does not connect'));
  }

  queueDepth$(): Observable<number> {
    return this.never.asObservable();
  }

  stats(): CommStats {
    return {
      sent: this.sent.length,
      received: 0,
      dropped: { overflow: 0, 'connection-closed': 0, 'dial-failed': 0, stopped: 0, 'too-large': 0 },
      handshakeFailures: 0,
      connections: 0,
      queued: 0,
    };
  }

  stop(): Promise<void> {
    this.inbound.complete();
    this.dead.complete();
    this.never.complete();
    return Promise.resolve();
  }
}

/** A mapper that knows nobody: every put and check fails, as for identities of an unknown MSP. */
class NoIdentities implements IdentityMapper {
  readonly size = 0;
  put(): void {
    throw new IdentityError('fake comm: no trusted MSP');
  }
  get(): undefined {
    return undefined;
  }
  pkiIdOf(identity: Uint8Array): Buffer {
    return Buffer.from(identity);
  }
  verify(): void {
    throw new SignatureError('fake comm: no identities');
  }
  verifyByIdentity(): void {
    throw new IdentityError('fake comm: no trusted MSP');
  }
  delete(): void {}
}
