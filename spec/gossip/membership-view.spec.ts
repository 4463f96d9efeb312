import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Long from 'long';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  MembershipTable,
  comparePeerTime,
  trackMembership,
  type Member,
  type MembershipEvent,
  type MembershipUpdate,
} from '../../lib/gossip/membership-view.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const SELF = Buffer.from('self');
const dummy = SignedMessage.create({ empty: {} });

const member = (name: string, inc: number, seq: number, endpoint = `${name}:7051`): Member => ({
  pkiId: Buffer.from(name),
  endpoint,
  identity: Buffer.from(`id-${name}`),
  time: { incNum: Long.fromNumber(inc, true), seqNum: Long.fromNumber(seq, true) },
});
const alive = (name: string, inc: number, seq: number, endpoint?: string): MembershipEvent => ({
  type: 'alive',
  member: member(name, inc, seq, endpoint),
  message: dummy,
});
const presumedDead = (name: string): MembershipEvent => ({ type: 'presumed-dead', pkiId: Buffer.from(name) });

/** An update as text: its changes, then the alive and dead lists. */
const show = (u: MembershipUpdate): string => {
  const changes = u.changes.map((c) => `${c.type}:${c.member.pkiId}${c.type === 'dead' ? `(${c.reason})` : ''}`).join(',');
  const names = (ms: readonly Member[]) => ms.map((m) => m.pkiId.toString()).join('+');
  return `${changes} alive=${names(u.view.alive)} dead=${names(u.view.dead)}`;
};

describe('trackMembership (virtual time)', () => {
  it('joins, refreshes, expires, revives on a newer inc_num, ignores stale messages', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const table = new MembershipTable(SELF, { expirationMs: 10 });
      const events = hot('a 4ms b c 2ms s 12ms d 4ms e 1ms f g 10ms |', {
        a: alive('p1', 1, 1), // join
        b: alive('p1', 1, 2), // refresh: nothing to report, last seen at 5
        c: alive('p1', 1, 1), // stale
        s: alive('self', 9, 9), // ourselves: never a member
        d: alive('p1', 2, 1), // newer inc_num: revive (it was found dead at 16)
        e: presumedDead('p1'), // comm says unreachable
        f: alive('p1', 2, 1), // replayed: stays dead
        g: alive('p2', 1, 1), // join
      });
      const updates = events.pipe(trackMembership(table, 2, ts), map(show));
      // Checks run every 2 ms; p1 is last seen at 5, so the check at 16 finds it silent for 11 > 10 ms.
      expectObservable(updates).toBe('a 15ms x 5ms d 4ms e 2ms g 10ms |', {
        a: 'join:p1 alive=p1 dead=',
        x: 'dead:p1(expired) alive= dead=p1',
        d: 'revive:p1 alive=p1 dead=',
        e: 'dead:p1(presumed-dead) alive= dead=p1',
        g: 'join:p2 alive=p2 dead=p1',
      });
      expectSubscriptions(events.subscriptions).toBe('^ 40ms !');
    });
  });

  it('a member that keeps sending stays alive', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const table = new MembershipTable(SELF, { expirationMs: 10 });
      const events = hot('a 7ms b 7ms c 7ms d 30ms |', {
        a: alive('p1', 1, 1),
        b: alive('p1', 1, 2),
        c: alive('p1', 1, 3),
        d: alive('p1', 1, 4),
      });
      // Last seen at 24: dead at the first check after 34, i.e. 36.
      expectObservable(events.pipe(trackMembership(table, 2, ts), map(show))).toBe('a 35ms x 18ms |', {
        a: 'join:p1 alive=p1 dead=',
        x: 'dead:p1(expired) alive= dead=p1',
      });
    });
  });

  it('stops its check timer when unsubscribed and errors with its source', () => {
    const ts = scheduler();
    ts.run(({ hot, expectObservable }) => {
      const table = new MembershipTable(SELF, { expirationMs: 10 });
      const events = hot('a', { a: alive('p1', 1, 1) });
      expectObservable(events.pipe(trackMembership(table, 2, ts), map(show)), '^ 5ms !').toBe('a', {
        a: 'join:p1 alive=p1 dead=',
      });
    });
    assert.equal(ts.actions.length, 0, 'no timer left');
    const ts2 = scheduler();
    ts2.run(({ hot, expectObservable }) => {
      const table = new MembershipTable(SELF, { expirationMs: 10 });
      expectObservable(hot<MembershipEvent>('--#').pipe(trackMembership(table, 2, ts2))).toBe('--#');
    });
  });
});

describe('MembershipTable', () => {
  it('reports a restart or a move of an alive member as an update', () => {
    const table = new MembershipTable(SELF, { expirationMs: 10 });
    assert.equal(table.alive(member('p1', 1, 1), dummy, 0)?.type, 'join');
    assert.equal(table.alive(member('p1', 1, 2), dummy, 1), undefined);
    assert.equal(table.alive(member('p1', 2, 1), dummy, 2)?.type, 'update');
    assert.equal(table.alive(member('p1', 2, 2, 'elsewhere:1'), dummy, 3)?.type, 'update');
    assert.equal(table.get(Buffer.from('p1'))?.member.endpoint, 'elsewhere:1');
  });

  it('forgets dead members after purgeAfterMs', () => {
    const table = new MembershipTable(SELF, { expirationMs: 10, purgeAfterMs: 100 });
    table.alive(member('p1', 1, 1), dummy, 0);
    assert.deepEqual(table.expire(11).map((c) => c.type), ['dead']);
    assert.equal(table.view().dead.length, 1);
    table.expire(111);
    assert.equal(table.view().dead.length, 1);
    table.expire(112);
    assert.equal(table.view().dead.length, 0);
    assert.equal(table.get(Buffer.from('p1')), undefined);
  });

  it('orders PeerTimes by inc_num, then seq_num, unsigned', () => {
    const t = (inc: Long | number, seq: number) => ({ incNum: Long.fromValue(inc), seqNum: Long.fromNumber(seq, true) });
    assert.ok(comparePeerTime(t(1, 5), t(2, 0)) < 0);
    assert.ok(comparePeerTime(t(2, 1), t(2, 0)) > 0);
    assert.equal(comparePeerTime(t(2, 1), t(2, 1)), 0);
    assert.ok(comparePeerTime(t(Long.MAX_UNSIGNED_VALUE, 0), t(1, 0)) > 0, 'unsigned, not negative');
  });
});
