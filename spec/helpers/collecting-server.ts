// A GossipServer (our gRPC server with the gossip service, no comm on top) that keeps every
// call it serves (and hands it to `onCall`, if given), for specs that examine grpc-js's call
// objects themselves or play a remote by hand.
import type * as grpc from '@grpc/grpc-js';
import { GossipServer } from '../../lib/comm/server.js';
import type { ClientGossipStream, ServerGossipStream } from '../../lib/wire/service.js';

export async function collectingServer(
  credentials: grpc.ServerCredentials,
  calls: ServerGossipStream[],
  onCall?: (call: ServerGossipStream) => void,
  maxRecvMsgSize = 1 << 20,
): Promise<GossipServer> {
  return GossipServer.listen('127.0.0.1:0', { credentials, maxRecvMsgSize, maxSendMsgSize: 1 << 20 }, (call) => {
    call.on('error', () => undefined);
    calls.push(call);
    onCall?.(call);
  });
}

/**
 * Opens a stream (`open` starts the call) and writes one message on it, then resolves with it and
 * the call the collecting server got for it, once that call has read the message.
 */
export async function openCollected(
  calls: ServerGossipStream[],
  open: () => ClientGossipStream,
): Promise<{ client: ClientGossipStream; call: ServerGossipStream }> {
  const seen = calls.length;
  const stream = open();
  stream.on('error', () => undefined);
  stream.write(Buffer.from('hello'));
  while (calls.length === seen) await new Promise((r) => setTimeout(r, 5));
  const call = calls[calls.length - 1]!;
  await new Promise((r) => call.once('data', r));
  return { client: stream, call };
}
