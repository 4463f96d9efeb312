/**
 * The two-process setup the throughput and application-path scenarios share: a receiving Worker
 * running an rxgossip comm and a raw grpc-js server for the same identity, and in this process a
 * comm and a raw GossipStream dialing them.
 */
import { openRawStream, readTlsFiles } from './raw-grpc.js';
import { createComm, loadPeerDir, type Comm, type RemotePeer } from './rxgossip.js';
import { Worker } from './support.js';

type RawStream = Awaited<ReturnType<typeof openRawStream>>;

export interface SenderPair {
  readonly worker: Worker;
  readonly comm: Comm;
  /** The receiver's comm. */
  readonly peer: RemotePeer;
  /** A raw GossipStream to the receiver's raw grpc-js server. */
  readonly raw: RawStream;
  /** Closes the raw stream, the comm and the worker. */
  close(): Promise<void>;
}

/** Starts the receiving worker `name` for `receiverDir` and dials it as `senderDir`. */
export async function startSenderPair(name: string, senderDir: string, receiverDir: string): Promise<SenderPair> {
  const worker = new Worker(name);
  let comm: Comm | undefined;
  let raw: RawStream | undefined;
  const close = async (): Promise<void> => {
    raw?.close();
    await comm?.stop();
    await worker.shutdown();
  };
  try {
    const [[remote], rawServer, self, tls] = await Promise.all([
      worker.request<Array<{ endpoint: string; pkiIdHex: string }>>('rx-start', { dirs: [receiverDir] }),
      worker.request<{ endpoint: string }>('raw-start', { dir: receiverDir }),
      loadPeerDir(senderDir),
      readTlsFiles(senderDir),
    ]);
    comm = await createComm({ self, listen: '127.0.0.1:0' });
    const peer: RemotePeer = { endpoint: remote!.endpoint, pkiId: Buffer.from(remote!.pkiIdHex, 'hex') };
    raw = await openRawStream(rawServer.endpoint, tls);
    return { worker, comm, peer, raw, close };
  } catch (err: unknown) {
    await close();
    throw err;
  }
}
