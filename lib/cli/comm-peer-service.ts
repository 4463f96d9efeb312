import Long from 'long';
import { Subject, filter, map, merge, type Observable } from 'rxjs';
import type { ConnectionInfo, RemotePeer } from '../comm/connection-info.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import { gossip } from '../proto/messages.js';
import { explainFailure } from './explain-failure.js';
import { formatMessageText, messageRecord } from './message-format.js';
import { openConnection } from './open-connection.js';
import { parseHostPort } from './parse.js';
import type { PeerEvent, PeerService, PeerServiceContext } from './peer-service.js';

/**
 * `rxgossip peer --mode comm`: comm alone, no membership. It connects to the bootstrap peers,
 * prints every message received and every peer presumed dead, and sends each published line as
 * `GossipMessage{ tag: CHAN_AND_ORG, data_msg: { payload: { seq_num, data } } }` to every peer it
 * has a connection with and every bootstrap peer (dialing those it has none with). Messages are
 * not forwarded.
 */
export function createCommPeerService(ctx: PeerServiceContext): PeerService {
  return new CommPeerService(ctx);
}

class CommPeerService implements PeerService {
  private readonly local = new Subject<PeerEvent>();
  private readonly bootstrapPeers = new Map<string, RemotePeer>();
  private seqNum = Long.UZERO;
  private stopped = false;
  readonly events$: Observable<PeerEvent>;

  constructor(private readonly ctx: PeerServiceContext) {
    const { comm } = ctx;
    for (const endpoint of ctx.bootstrap) this.bootstrapPeers.set(endpoint, { endpoint });
    this.events$ = merge(
      comm.accept().pipe(
        // The opening message of a connection carries nothing.
        filter((m) => m.message.content !== 'empty'),
        map((m) => (m.message.content === 'dataMsg' ? receivedDataEvent(m) : messageEvent(m))),
      ),
      comm.presumedDead$.pipe(map((pkiId): PeerEvent => ({ event: 'presumed-dead', pkiId: pkiId.toString('hex') }))),
      this.local,
    );
  }

  async start(): Promise<void> {
    await Promise.all(
      [...this.bootstrapPeers.keys()].map(async (endpoint) => {
        try {
          const { info } = await openConnection(this.ctx.comm, endpoint);
          this.bootstrapPeers.set(endpoint, { endpoint, pkiId: info.pkiId });
          this.emit({ event: 'connected', endpoint, pkiId: info.pkiId.toString('hex') });
        } catch (err: unknown) {
          if (this.stopped) return;
          const explained = await explainFailure(err, parseHostPort(endpoint), this.ctx.tls);
          this.emit({ event: 'unreachable', endpoint, error: explained.message });
        }
      }),
    );
  }

  async publish(data: Uint8Array): Promise<string> {
    this.seqNum = this.seqNum.add(1);
    const targets = new Map<string, RemotePeer>();
    for (const c of this.ctx.comm.connections()) {
      if (c.active) targets.set(c.pkiId.toString('hex'), { endpoint: c.endpoint, pkiId: c.pkiId });
    }
    for (const peer of this.bootstrapPeers.values()) {
      const key = peer.pkiId ? Buffer.from(peer.pkiId).toString('hex') : peer.endpoint;
      if (!targets.has(key)) targets.set(key, peer);
    }
    const seqNum = this.seqNum.toString();
    this.ctx.comm.send(
      { nonce: 0, tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload: { seqNum: this.seqNum, data } } },
      ...targets.values(),
    );
    this.emit({ event: 'published', seqNum, peers: targets.size });
    return seqNum;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.local.complete();
  }

  private emit(event: PeerEvent): void {
    if (!this.stopped) this.local.next(event);
  }
}

/** The event of a data message received from `from`. */
export function dataEvent(
  from: ConnectionInfo,
  seqNum: number | Long | null | undefined,
  bytes: Uint8Array | null | undefined,
  via?: 'push' | 'pull',
): PeerEvent {
  const data = Buffer.from(bytes ?? new Uint8Array(0));
  const text = data.toString('utf8');
  return {
    event: 'data',
    from: { pkiId: from.pkiId.toString('hex'), endpoint: from.endpoint },
    seqNum: Long.fromValue(seqNum ?? 0).toUnsigned().toString(),
    hex: data.toString('hex'),
    ...(Buffer.from(text, 'utf8').equals(data) ? { text } : {}),
    ...(via ? { via } : {}),
  };
}

function receivedDataEvent(m: ReceivedMessage): PeerEvent {
  const payload = m.message.dataMsg?.payload;
  return dataEvent(m.connectionInfo, payload?.seqNum, payload?.data);
}

function messageEvent(m: ReceivedMessage): PeerEvent {
  return { event: 'message', message: messageRecord(m), line: formatMessageText(m) };
}
