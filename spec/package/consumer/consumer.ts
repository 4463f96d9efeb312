// Type-checked against the installed package's declarations (tsc --noEmit), never run.
import { firstValueFrom, type Observable } from 'rxjs';
import {
  ConnectError,
  createComm,
  loadPeerDir,
  type Comm,
  type ConnectionInfo,
  type GossipMessageInit,
  type ReceivedMessage,
  type RemotePeer,
} from 'rxgossip';
import { serveMetrics } from 'rxgossip/metrics';

export async function exchange(dir: string, peer: RemotePeer): Promise<ConnectionInfo> {
  const comm: Comm = await createComm({ self: await loadPeerDir(dir), listen: '127.0.0.1:0' });
  const data$: Observable<ReceivedMessage> = comm.accept((m) => m.message.content === 'dataMsg');
  const message: GossipMessageInit = { nonce: 1, dataMsg: { payload: { seqNum: 1, data: new Uint8Array([1]) } } };
  comm.send(message, peer);
  const dead: Observable<Buffer> = comm.presumedDead$;
  void dead;
  const first: ReceivedMessage = await firstValueFrom(data$);
  await first.respond({ nonce: first.message.nonce, empty: {} });
  try {
    return await comm.handshake(peer);
  } catch (err: unknown) {
    if (err instanceof ConnectError) throw new Error(`unreachable: ${err.message}`);
    throw err;
  } finally {
    await comm.stop();
  }
}

export const metricsServer: typeof serveMetrics = serveMetrics;
