// A GossipServer (our gRPC server with the gossip service, no comm on top) that keeps every
// call it serves, for specs that examine grpc-js's call objects themselves.
import type * as grpc from '@grpc/grpc-js';
import { GossipServer } from '../../lib/comm/server.js';
import type { ServerGossipStream } from '../../lib/wire/service.js';

export async function collectingServer(credentials: grpc.ServerCredentials, calls: ServerGossipStream[]): Promise<GossipServer> {
  return GossipServer.listen('127.0.0.1:0', { credentials, maxRecvMsgSize: 1 << 20, maxSendMsgSize: 1 << 20 }, (call) => {
    call.on('error', () => undefined);
    calls.push(call);
  });
}
