// FrameSink on real grpc-js calls (plain TCP on 127.0.0.1): it must find the http2 stream under
// the installed grpc-js's calls, on both sides (a grpc-js upgrade that moves it fails here, not
// silently in the benchmark), keep the order of messages grpc-js itself still has in flight, and
// fall back to the call when interceptors stand in between.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { FrameSink } from '../../lib/comm/frame-sink.js';
import type { GossipServer } from '../../lib/comm/server.js';
import { collectingServer, nextMessages, openPlain } from '../helpers/collecting-server.js';
import type { ClientGossipStream, GossipClient, ServerGossipStream } from '../../lib/wire/service.js';

describe('FrameSink', () => {
  let server: GossipServer;
  const calls: ServerGossipStream[] = [];
  const clients: GossipClient[] = [];

  before(async () => {
    server = await collectingServer(grpc.ServerCredentials.createInsecure(), calls);
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close(100);
  });

  const open = (interceptors: grpc.Interceptor[] = []): Promise<{ client: ClientGossipStream; call: ServerGossipStream }> =>
    openPlain(server.port, calls, clients, interceptors);
  const collect = nextMessages;

  it('writes frames straight into the http2 stream on both sides, in order after what grpc-js still holds', async () => {
    const { client, call } = await open();
    // Small messages are copied behind their prefix, large ones written after it as they are.
    const expected = Array.from({ length: 500 }, (_, i) => (i % 100 === 50 ? `L${i}`.padEnd(20_000, '.') : `m${i}`));
    for (const [writer, reader] of [
      [call, client],
      [client, call],
    ] as const) {
      const received = collect(reader, expected.length);
      // The first messages go through grpc-js (as the handshake message does); the sink must
      // not overtake them.
      for (const m of expected.slice(0, 5)) writer.write(Buffer.from(m));
      const sink = FrameSink.for(writer);
      assert.ok(sink instanceof FrameSink, `no http2 stream found under the ${writer === call ? 'server' : 'client'} call`);
      sink.cork!();
      for (const m of expected.slice(5)) sink.write(Buffer.from(m));
      sink.uncork!();
      assert.deepEqual(await received, expected);
    }
  });

  it('calls back once the http2 stream took each message', async () => {
    const { client, call } = await open();
    const sink = FrameSink.for(call);
    const received = collect(client, 3);
    const done = await Promise.all(
      ['a', 'b', 'c'].map((m) => new Promise<string>((resolve, reject) => sink.write(Buffer.from(m), (err) => (err ? reject(err) : resolve(m))))),
    );
    assert.deepEqual(done, ['a', 'b', 'c']);
    assert.deepEqual(await received, ['a', 'b', 'c']);
  });

  it('leaves a call with client interceptors to grpc-js', async () => {
    const passThrough: grpc.Interceptor = (options, next) => new grpc.InterceptingCall(next(options));
    const { client, call } = await open([passThrough]);
    assert.equal(FrameSink.for(client), client);
    const received = collect(call, 1);
    FrameSink.for(client).write(Buffer.from('through grpc-js'));
    assert.deepEqual(await received, ['through grpc-js']);
  });
});
