// CommOptions.channelz: by default our own server and the channels we dial stay out of grpc-js's
// channelz registry (its per-connection trackers cost each handshake and each live connection);
// with channelz: true both are registered, as a channelz admin service in the process would list.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getChannelzHandlers } from '@grpc/grpc-js/build/src/channelz.js';
import type { Comm } from '../../lib/index.js';
import { peerOf, startPeer } from '../helpers/peers.js';

/** How many servers and top channels grpc-js's channelz lists in this process. */
function registered(): Promise<{ servers: number; channels: number }> {
  const handlers = getChannelzHandlers();
  const list = <T>(call: (request: object, done: (err: unknown, value: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) => call({ max_results: 1_000 }, (err, value) => (err ? reject(err) : resolve(value))));
  const servers = list<{ server: unknown[] }>((request, done) =>
    handlers.GetServers({ request } as never, done as never),
  );
  const channels = list<{ channel: unknown[] }>((request, done) =>
    handlers.GetTopChannels({ request } as never, done as never),
  );
  return Promise.all([servers, channels]).then(([s, c]) => ({ servers: s.server.length, channels: c.channel.length }));
}

describe('channelz', () => {
  const comms: Comm[] = [];
  afterEach(async () => {
    await Promise.all(comms.splice(0).map((c) => c.stop()));
  });

  it('leaves our server and dialed channels out of channelz by default', async () => {
    const before = await registered();
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    comms.push(a, b);
    await b.connect(peerOf(a));
    assert.deepEqual(await registered(), before);
  });

  it('registers them with channelz: true', async () => {
    const before = await registered();
    const [a, b] = await Promise.all([startPeer('peer0', { channelz: true }), startPeer('peer1', { channelz: true })]);
    comms.push(a, b);
    await b.connect(peerOf(a));
    const now = await registered();
    assert.equal(now.servers, before.servers + 2);
    assert.equal(now.channels, before.channels + 1);
  });
});
