// One event stream over real HTTP: the wire format, and a client that stops reading is cut off.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Observable, Subject } from 'rxjs';
import { formatServerSentEvent, pipeServerSentEvents, type ServerSentEvent } from '../../lib/ui/server-sent-events.js';

describe('Server-Sent Events', () => {
  it('formats one event per block, its JSON on one data line', () => {
    assert.equal(formatServerSentEvent({ event: 'x', data: { text: 'two\nlines' } }), 'event: x\ndata: {"text":"two\\nlines"}\n\n');
  });

  it('cuts off a client that stops reading, once too much is buffered, and unsubscribes', async () => {
    const big = 'x'.repeat(256 * 1024);
    let unsubscribed = false;
    let slow = 0;
    const pump = new Subject<void>();
    const events$ = new Observable<ServerSentEvent>((subscriber) => {
      const sub = pump.subscribe(() => {
        for (let i = 0; i < 64; i++) subscriber.next({ event: 'big', data: big });
      });
      return () => {
        unsubscribed = true;
        sub.unsubscribe();
      };
    });
    const server = createServer((_req, res) => {
      pipeServerSentEvents(events$, res, { maxBufferedBytes: 1024 * 1024, heartbeatMs: 60_000, onSlowClient: () => slow++ });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', agent: false }, resolve).on('error', reject).end();
    });
    response.pause(); // a client that never reads
    try {
      const deadline = Date.now() + 10_000;
      while (!unsubscribed) {
        assert.ok(Date.now() < deadline, 'the stream was not cut off');
        pump.next(); // 16 MiB a round: more than any socket buffer holds
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(slow, 1);
    } finally {
      response.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
