// A GossipServer (our gRPC server with the gossip service, no comm on top) that keeps every
// call it serves (and hands it to `onCall`, if given), for specs that examine grpc-js's call
// objects themselves or play a remote by hand.
import * as grpc from '@grpc/grpc-js';
import { GossipServer } from '../../lib/comm/server.js';
import { GossipClientConstructor, type ClientGossipStream, type GossipClient, type ServerGossipStream } from '../../lib/wire/service.js';

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

/**
 * Opens a plain-TCP stream to a collecting server on `port` from a client of its own (its own
 * subchannel, no retries: the plain call shape the comm's dialer makes), kept in `clients` for
 * closing, as openCollected does.
 */
export function openPlain(
  port: number | undefined,
  calls: ServerGossipStream[],
  clients: GossipClient[],
  interceptors: grpc.Interceptor[] = [],
): Promise<{ client: ClientGossipStream; call: ServerGossipStream }> {
  if (port === undefined) throw new Error('openPlain: the server is not listening');
  const client = new GossipClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
  });
  clients.push(client);
  return openCollected(calls, () => client.GossipStream(new grpc.Metadata(), { interceptors }));
}

/** The next `count` messages grpc-js delivers on `stream`, as strings. */
export function nextMessages(stream: ClientGossipStream | ServerGossipStream, count: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      got.push(chunk.toString());
      if (got.length === count) {
        stream.removeListener('data', onData);
        resolve(got);
      }
    };
    stream.on('data', onData);
  });
}
