import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { burst } from '../../lib/gossip/burst.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

describe('burst', () => {
  it('emits a burst maxDelay after its first value', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('a 3ms b 20ms c|');
      expectObservable(source.pipe(burst(10, 10, ts))).toBe('10ms x 15ms (y|)', { x: ['a', 'b'], y: ['c'] });
      expectSubscriptions(source.subscriptions).toBe('^ 25ms !');
    });
  });

  it('emits at once when a burst is full', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const source = hot('abcd 20ms e|');
      expectObservable(source.pipe(burst(3, 10, ts))).toBe('--x 10ms y 11ms (z|)', {
        x: ['a', 'b', 'c'],
        y: ['d'],
        z: ['e'],
      });
    });
  });

  it('schedules nothing while idle: no empty bursts', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const source = hot('50ms a 50ms -|');
      expectObservable(source.pipe(burst(10, 10, ts))).toBe('60ms x 41ms |', { x: ['a'] });
    });
  });

  it('unsubscribing drops the pending burst and its timer', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const source = hot('a 30ms b');
      expectObservable(source.pipe(burst(10, 10, ts)), '^ 5ms !').toBe('');
    });
    assert.equal(ts.actions.length, 0);
  });

  it('an error discards the pending burst', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      expectObservable(hot('a-#').pipe(burst(10, 10, ts))).toBe('--#');
    });
  });

  it('refuses nonsense sizes', () => {
    assert.throws(() => burst(0), RangeError);
    assert.throws(() => burst(1, -1), RangeError);
  });
});
