// Reading gRPC frames straight from the http2 stream (frame-source.ts): the frame splitter on any
// cut of the bytes, and the take-over on real grpc-js calls (plain TCP on 127.0.0.1), on both
// sides: it must find the installed grpc-js's read side (an upgrade that moves it fails here,
// not silently in the benchmark), wait while grpc-js still holds part of the stream, keep the
// order, apply grpc-js's own size limit, and leave calls with interceptors to grpc-js.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type { Comm } from '../../lib/index.js';
import type { Connection } from '../../lib/comm/connection.js';
import { status } from '@grpc/grpc-js';
import { GossipError, MessageTooLargeError } from '../../lib/errors.js';
import { FrameReader } from '../../lib/comm/frame-reader.js';
import { readDirectly, type DirectRead } from '../../lib/comm/frame-source.js';
import type { GossipServer } from '../../lib/comm/server.js';
import { collectingServer, nextMessages, openPlain } from '../helpers/collecting-server.js';
import { data, isData, seqOf } from '../helpers/messages.js';
import { collect, eventually, peerOf, startPeer } from '../helpers/peers.js';
import type { ClientGossipStream, GossipClient, ServerGossipStream } from '../../lib/wire/service.js';

function frame(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, inside the bytes). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((x, y) => x - y);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  return pieces;
}

describe('FrameReader', () => {
  it('hands on every message whole and in order, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (messages, at) => {
          const bytes = Buffer.concat(messages.map((m) => frame(Buffer.from(m))));
          const got: Buffer[] = [];
          const reader = new FrameReader(-1, (m) => got.push(m), (err) => assert.fail(err));
          for (const piece of cut(bytes, at)) reader.write(piece);
          assert.deepEqual(got.map((m) => [...m]), messages.map((m) => [...m]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reassembles large messages cut anywhere, growing its room as their bytes come', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (sizes, at) => {
          const messages = sizes.map((n, i) => Buffer.alloc(n, i + 1).fill(i + 7, 0, Math.min(n, 13)));
          const got: Buffer[] = [];
          const reader = new FrameReader(-1, (m) => got.push(m), (err) => assert.fail(err));
          for (const piece of cut(Buffer.concat(messages.map((m) => frame(m))), at)) reader.write(piece);
          assert.equal(got.length, messages.length);
          got.forEach((m, i) => assert.ok(m.equals(messages[i]!), `message ${i} of ${messages[i]!.length} bytes differs`));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives each message a buffer of its own, not a view into the read it came in', () => {
    const bytes = frame(Buffer.from('hello'));
    const got: Buffer[] = [];
    new FrameReader(-1, (m) => got.push(m), assert.fail).write(bytes);
    bytes.fill(0);
    assert.equal(got[0]!.toString(), 'hello');
  });

  it('stops at a message over the limit, before reading it, with MessageTooLargeError', () => {
    const got: string[] = [];
    const errors: GossipError[] = [];
    const reader = new FrameReader(10, (m) => got.push(m.toString()), (err) => errors.push(err));
    reader.write(Buffer.concat([frame(Buffer.from('ten bytes!')), frame(Buffer.alloc(11)).subarray(0, 5)]));
    reader.write(frame(Buffer.from('after')));
    assert.deepEqual(got, ['ten bytes!']);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof MessageTooLargeError);
    assert.equal((errors[0] as MessageTooLargeError).size, 11);
    assert.equal((errors[0] as MessageTooLargeError).limit, 10);
  });

  it('refuses a compressed message (no message encoding here) and any other flag, with status INTERNAL as grpc-go', () => {
    for (const flag of [1, 2, 255]) {
      const errors: GossipError[] = [];
      const got: Buffer[] = [];
      const reader = new FrameReader(-1, (m) => got.push(m), (err) => errors.push(err));
      reader.write(Buffer.concat([frame(Buffer.from('x'), flag), frame(Buffer.from('y'))]));
      assert.equal(got.length, 0);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof GossipError, String(errors[0]));
      assert.equal(errors[0].code, status.INTERNAL);
      assert.match(errors[0]!.message, flag === 1 ? /compressed/ : /invalid compressed flag/);
    }
  });

  it('stops when the consumer throws, and reports it', () => {
    const errors: GossipError[] = [];
    const got: string[] = [];
    const reader = new FrameReader(
      -1,
      (m) => {
        got.push(m.toString());
        throw new Error('consumer broke');
      },
      (err) => errors.push(err),
    );
    reader.write(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]));
    assert.deepEqual(got, ['a']);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /consumer broke/);
  });

  it('reads nothing more once stopped', () => {
    const got: string[] = [];
    const reader = new FrameReader(-1, (m) => got.push(m.toString()), assert.fail);
    const bytes = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]);
    reader.write(bytes.subarray(0, 7));
    reader.stop();
    reader.write(bytes.subarray(7));
    assert.deepEqual(got, ['a']);
  });
});

describe('readDirectly', () => {
  let server: GossipServer;
  let small: GossipServer;
  const calls: ServerGossipStream[] = [];
  const smallCalls: ServerGossipStream[] = [];
  const clients: GossipClient[] = [];
  const reads: DirectRead[] = [];

  before(async () => {
    server = await collectingServer(grpc.ServerCredentials.createInsecure(), calls);
    small = await collectingServer(grpc.ServerCredentials.createInsecure(), smallCalls, undefined, 1_000);
  });
  after(async () => {
    for (const read of reads) read.stop();
    for (const client of clients) client.close();
    await Promise.all([server.close(100), small.close(100)]);
  });

  const open = (
    on: GossipServer = server,
    collected: ServerGossipStream[] = calls,
    interceptors: grpc.Interceptor[] = [],
  ): Promise<{ client: ClientGossipStream; call: ServerGossipStream }> => openPlain(on.port, collected, clients, interceptors);
  const viaGrpc = nextMessages;

  /** Takes over `reader` and collects `count` messages read directly; grpc-js must deliver none of them. */
  function direct(reader: ClientGossipStream | ServerGossipStream, count: number): { got: Promise<string[]>; errors: Error[] } {
    const errors: Error[] = [];
    let resolveGot!: (got: string[]) => void;
    const got: string[] = [];
    const promise = new Promise<string[]>((resolve) => (resolveGot = resolve));
    const taken = readDirectly(
      reader,
      (m) => {
        got.push(m.toString());
        if (got.length === count) resolveGot(got);
      },
      (err) => errors.push(err),
    );
    assert.ok(taken !== undefined && taken !== 'never', `did not take over the ${isClient(reader) ? 'client' : 'server'} call: ${String(taken)}`);
    reads.push(taken);
    reader.on('data', (chunk: Buffer) => assert.fail(`grpc-js delivered ${chunk.toString()} after the take-over`));
    return { got: promise, errors };
  }

  /**
   * Sends one message through grpc-js (it reads a stream's first messages; readDirectly takes
   * over after), then lets go of grpc-js's own data listeners so the take-over can be seen.
   */
  async function firstViaGrpc(writer: ClientGossipStream | ServerGossipStream, reader: ClientGossipStream | ServerGossipStream): Promise<void> {
    const first = viaGrpc(reader, 1);
    writer.write(Buffer.from('first'));
    assert.deepEqual(await first, ['first']);
    reader.removeAllListeners('data');
  }

  function isClient(stream: ClientGossipStream | ServerGossipStream): boolean {
    return typeof (stream as ClientGossipStream).cancel === 'function' && !('sendMetadata' in stream);
  }

  it('takes over on both sides after a first message through grpc-js, in order, large messages too', async () => {
    const { client, call } = await open();
    const expected = Array.from({ length: 500 }, (_, i) => (i % 100 === 50 ? `L${i}`.padEnd(40_000, '.') : `m${i}`));
    for (const [writer, reader] of [
      [call, client],
      [client, call],
    ] as const) {
      await firstViaGrpc(writer, reader);
      const { got, errors } = direct(reader, expected.length);
      for (const m of expected) writer.write(Buffer.from(m));
      assert.deepEqual(await got, expected);
      assert.deepEqual(errors, []);
    }
  });

  it('waits while grpc-js holds part of the stream, and takes over once it is idle', async () => {
    const { client, call } = await open();
    // Paused: grpc-js reads the messages into the call's own buffer, where they wait to be read.
    call.pause();
    client.write(Buffer.from('one'));
    client.write(Buffer.from('two'));
    client.write(Buffer.alloc(100_000, 1));
    // grpc-js has read them into the paused call's buffer (a fixed wait could come too soon).
    await eventually(() => call.readableLength > 0, 10_000, 'grpc-js to buffer the messages');
    assert.equal(readDirectly(call, () => assert.fail('nothing is read directly'), assert.fail), undefined);
    const rest = viaGrpc(call, 3);
    call.resume();
    const got = await rest;
    assert.deepEqual(got.slice(0, 2), ['one', 'two']);
    assert.equal(got[2]!.length, 100_000);
    call.removeAllListeners('data');
    const { got: after } = direct(call, 1);
    client.write(Buffer.from('direct'));
    assert.deepEqual(await after, ['direct']);
  });

  it("keeps grpc-js's end of the stream after the messages read directly: the server's 'end', the client's 'status'", async () => {
    const { client, call } = await open();
    for (const [writer, reader] of [
      [client, call],
      [call, client],
    ] as const) {
      await firstViaGrpc(writer, reader);
      const order: string[] = [];
      const taken = readDirectly(reader, (m) => order.push(m.toString()), assert.fail);
      assert.ok(taken !== undefined && taken !== 'never');
      reads.push(taken);
      const ended = new Promise<void>((resolve) => {
        if (reader === call) call.once('end', () => (order.push('end'), resolve()));
        else client.once('status', (s: grpc.StatusObject) => (order.push(`status ${s.code}`), resolve()));
      });
      // 'end' only fires on a Readable that is flowing (grpc-js's own 'data' was removed).
      reader.resume();
      for (let i = 0; i < 50; i++) writer.write(Buffer.from(`m${i}`));
      writer.end();
      await ended;
      const expected = [...Array.from({ length: 50 }, (_, i) => `m${i}`), reader === call ? 'end' : `status ${status.OK}`];
      assert.deepEqual(order, expected);
    }
  });

  it("applies grpc-js's size limit of the call: an oversized message is an error, the one before it delivered", async () => {
    const { client, call } = await open(small, smallCalls);
    await firstViaGrpc(client, call);
    const { got, errors } = direct(call, 1);
    client.write(Buffer.alloc(1_000, 7));
    client.write(Buffer.alloc(1_001, 7));
    assert.equal((await got)[0]!.length, 1_000);
    await eventually(() => errors.length > 0, 10_000, 'the size limit to stop the reader');
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof MessageTooLargeError);
    assert.equal((errors[0] as MessageTooLargeError).limit, 1_000);
  });

  it('leaves a call with client interceptors to grpc-js', async () => {
    const passThrough: grpc.Interceptor = (options, next) => new grpc.InterceptingCall(next(options));
    const { client, call } = await open(server, calls, [passThrough]);
    const first = viaGrpc(client, 1);
    call.write(Buffer.from('first'));
    await first;
    assert.equal(readDirectly(client, () => assert.fail('nothing is read directly'), assert.fail), 'never');
    const more = viaGrpc(client, 1);
    call.write(Buffer.from('through grpc-js'));
    assert.deepEqual(await more, ['through grpc-js']);
  });
});

describe('a comm', () => {
  it('reads its connections straight from the http2 stream, dialed and accepted ones alike (mutual TLS)', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    const connections = (comm: Comm): readonly Connection[] =>
      (comm as unknown as { store: { connections: readonly Connection[] } }).store.connections;
    try {
      const atB = collect(b.accept(isData), 200, 20_000);
      for (let i = 1; i <= 200; i++) a.send(data(i, i % 50 === 0 ? 100_000 : 100), peerOf(b));
      assert.deepEqual((await atB).map(seqOf), Array.from({ length: 200 }, (_, i) => i + 1));
      const atA = collect(a.accept(isData), 200, 20_000);
      for (let i = 1; i <= 200; i++) b.send(data(i, i % 50 === 0 ? 100_000 : 100), peerOf(a));
      assert.deepEqual((await atA).map(seqOf), Array.from({ length: 200 }, (_, i) => i + 1));
      const [dialed] = connections(a);
      const [accepted] = connections(b);
      assert.equal(dialed?.direction, 'outbound');
      assert.equal(accepted?.direction, 'inbound');
      assert.ok(dialed.readsDirectly, 'the dialed connection is read by grpc-js');
      assert.ok(accepted.readsDirectly, 'the accepted connection is read by grpc-js');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
