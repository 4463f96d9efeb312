import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { MessageStore } from '../../lib/gossip/message-store.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const data = (text: string): SignedMessage => SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data: Buffer.from(text) } } });

describe('MessageStore', () => {
  it('drops duplicates until the digest expires (virtual time)', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      const store = new MessageStore({ ttlMs: 10, scheduler: ts });
      const adds = cold('a 4ms b 4ms c 4ms d 4ms e|').pipe(map(() => store.add('x', data('x'))));
      expectObservable(adds).toBe('t 4ms f 4ms t 4ms f 4ms t|', { t: true, f: false });
    });
  });

  it('has/get/digests/size forget expired messages', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      const store = new MessageStore({ ttlMs: 10, scheduler: ts });
      const steps = cold('a 4ms b 5ms c|').pipe(
        map((step) => {
          if (step === 'a') store.add('x', data('x'));
          if (step === 'b') store.add('y', data('y'));
          return `${store.digests().join(',')}|${store.size}|${store.has('x')}|${store.get('x') !== undefined}`;
        }),
      );
      // x added at 0 has expired at 11; y added at 5 lives until 15.
      expectObservable(steps).toBe('a 4ms b 5ms c|', {
        a: 'x|1|true|true',
        b: 'x,y|2|true|true',
        c: 'y|1|false|false',
      });
    });
  });

  it('evicts the oldest message beyond its capacity', () => {
    const store = new MessageStore({ capacity: 2 });
    assert.equal(store.add('a', data('a')), true);
    assert.equal(store.add('b', data('b')), true);
    assert.equal(store.add('c', data('c')), true);
    assert.deepEqual(store.digests(), ['b', 'c']);
    assert.equal(store.has('a'), false);
    assert.equal(store.add('a', data('a')), true, 'an evicted digest counts as new');
    assert.deepEqual(store.digests(), ['c', 'a']);
  });

  it('keeps the first message of a digest', () => {
    const store = new MessageStore();
    const first = data('1');
    store.add('k', first);
    assert.equal(store.add('k', data('2')), false);
    assert.equal(store.get('k'), first);
    store.clear();
    assert.equal(store.size, 0);
  });

  it('keeps its order through long churn: evictions, expiries, re-adds and clear()', () => {
    let now = 0;
    const store = new MessageStore({ capacity: 3, ttlMs: 100, scheduler: { now: () => now, schedule: () => assert.fail('no timers') } as never });
    const message = data('m');
    for (let i = 0; i < 5_000; i++) assert.equal(store.add(`d${i}`, message), true);
    assert.deepEqual(store.digests(), ['d4997', 'd4998', 'd4999']);
    assert.equal(store.add('d4998', message), false);
    assert.equal(store.add('d0', message), true, 'an evicted digest is new again');
    assert.deepEqual(store.digests(), ['d4998', 'd4999', 'd0']);
    now = 100;
    assert.equal(store.size, 0, 'all expired');
    assert.equal(store.add('d4999', message), true, 'an expired digest is new again');
    store.clear();
    assert.deepEqual(store.digests(), []);
    store.add('a', message);
    now = 150;
    store.add('b', message);
    now = 200;
    assert.deepEqual(store.digests(), ['b'], 'expired in insertion order');
  });

  it('refuses nonsense bounds', () => {
    assert.throws(() => new MessageStore({ capacity: 0 }), RangeError);
    assert.throws(() => new MessageStore({ ttlMs: 0 }), RangeError);
  });
});
