// rxgossip peers on Fabric's default membership timings, scaled down ~33× (alive 5 s → 150 ms,
// expiration 25 s → 750 ms, publishCertPeriod 10 s → 300 ms, pullInterval 4 s → 120 ms), over
// loopback TLS. Past publishCertPeriod alive messages carry no identity, so the identity store
// (handshakes, alive messages, identity pull) is what keeps the membership together.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createComm, type Comm } from '../../lib/comm/comm.js';
import { createMembership, type Membership, type MembershipOptions } from '../../lib/gossip/membership.js';
import type { MembershipChange } from '../../lib/gossip/membership-view.js';
import type { LocalPeer } from '../../lib/identity/peer-dir.js';
import { fabricTagError } from '../helpers/fabric-tag-rules.js';
import { activeResources, eventually, expectNoLeaks, fixturePeer, sleep } from './cluster.js';

const SCALED: MembershipOptions = {
  aliveIntervalMs: 150,
  aliveExpirationMs: 750,
  reconnectIntervalMs: 750,
  publishCertPeriodMs: 300,
  identityPull: { pullIntervalMs: 120, digestWaitMs: 30, requestWaitMs: 45 },
};
const PUBLISH_CERT_MS = 300;
/**
 * Comm timeouts generous enough that a handshake slowed by a loaded machine is not a failed dial
 * (which comm reports as presumed dead): here deaths must come from silence, as in Fabric. A
 * stopped peer still fails at once (connection refused).
 */
const PATIENT = { dialTimeoutMs: 1_000, pingTimeoutMs: 1_000, closeTimeoutMs: 500 };

describe('membership on Fabric’s timings scaled down (3 peers, A and C know only B)', () => {
  let selves: LocalPeer[];
  const comms: Comm[] = [];
  const memberships: Membership[] = [];
  const changes: MembershipChange[][] = [[], [], []];
  const endpoints: string[] = [];
  /** Every message a peer received that a Fabric peer would have dropped as illegal. */
  const illegal: string[] = [];
  let baseline: Map<string, number>;

  /** Peer i (0 = A, 1 = B, 2 = C); C has no external endpoint (Fabric's default): only its org reaches it. */
  const start = async (i: number, listen = '127.0.0.1:0'): Promise<void> => {
    const comm = await createComm({ self: selves[i]!, listen, ...PATIENT, ...(i === 2 ? { externalEndpoint: '' } : {}) });
    const bootstrap = i === 1 ? [] : [endpoints[1]!];
    const membership = createMembership(comm, { bootstrap, ...SCALED });
    comm.accept().subscribe((m) => {
      const error = fabricTagError(m.message);
      if (error) illegal.push(error);
    });
    comms[i] = comm;
    endpoints[i] = comm.internalEndpoint!;
    memberships[i] = membership;
    membership.changes$.subscribe((c) => changes[i]!.push(c));
  };
  const alive = (i: number): number[] =>
    memberships[i]!.view()
      .alive.map((m) => selves.findIndex((s) => s.pkiId.equals(m.pkiId)))
      .sort();
  const others = (i: number): number[] => [0, 1, 2].filter((j) => j !== i);
  const deaths = (i: number, who: number): number =>
    changes[i]!.filter((c) => c.type === 'dead' && c.member.pkiId.equals(selves[who]!.pkiId)).length;

  before(async () => {
    baseline = activeResources();
    selves = await Promise.all([0, 1, 2].map(fixturePeer));
    await start(1);
    await start(0);
    await eventually(() => alive(0).includes(1) && alive(1).includes(0), 'A and B to know each other');
    // C joins once A's alive messages no longer carry A's identity: C must learn it otherwise.
    await sleep(PUBLISH_CERT_MS + 150);
    await start(2);
  });

  after(async () => {
    for (const m of memberships) m?.stop();
    await Promise.all(comms.map((c) => c?.stop()));
  });

  it('A and C learn of each other through B (relayed alive messages, identities pulled)', async () => {
    await eventually(() => [0, 1, 2].every((i) => alive(i).length === 2), 'every peer to see the two others', 5_000);
    // C announces no external endpoint: it is known by the internal endpoint of its secret envelope.
    const c = memberships[0]!.view().alive.find((m) => m.pkiId.equals(selves[2]!.pkiId))!;
    assert.equal(c.externalEndpoint, '');
    assert.equal(c.endpoint, endpoints[2]);
    assert.ok(memberships[1]!.stats().relayed > 0, 'B relayed alive messages');
    // C never heard A's identity in an alive message (A was past its publishCertPeriod): pulled or handshaken.
    assert.ok(comms[2]!.identityMapper.get(selves[0]!.pkiId), 'C holds A’s identity');
    assert.ok(memberships[2]!.stats().unknownIdentity > 0, 'C heard of A (from B) before it knew A’s identity');
  });

  it('holds for ten publishCertPeriods: no member is ever found dead', async () => {
    const before = changes.map((c) => c.length);
    for (let t = 0; t < 10 * PUBLISH_CERT_MS; t += 100) {
      await sleep(100);
      for (const i of [0, 1, 2]) assert.deepEqual(alive(i), others(i), `peer ${i} lost a member at ~${t} ms`);
    }
    for (const i of [0, 1, 2]) {
      const since = changes[i]!.slice(before[i]);
      assert.deepEqual(since.filter((c) => c.type === 'dead'), [], `peer ${i} saw a death`);
    }
    for (const i of [0, 1, 2]) assert.equal(memberships[i]!.stats().invalid, 0, `peer ${i} refused no alive message`);
  });

  it('sees a stopped peer dead within the expiration, and a restarted one alive again', async () => {
    const oldInc = memberships[2]!.incNum;
    memberships[2]!.stop();
    await comms[2]!.stop();
    const stoppedAt = Date.now();
    await eventually(() => deaths(0, 2) > 0 && deaths(1, 2) > 0, 'A and B to find C dead', 4_000);
    const took = Date.now() - stoppedAt;
    // Expiration 750 ms + a check interval of 75 ms; generous on a loaded machine.
    assert.ok(took < 2_500, `death seen after ${took} ms`);

    await start(2, endpoints[2]);
    assert.ok(memberships[2]!.incNum.greaterThan(oldInc));
    await eventually(() => [0, 1, 2].every((i) => alive(i).length === 2), 'C to rejoin and see the others', 5_000);
    for (const i of [0, 1]) {
      const revived = changes[i]!.filter((c) => c.type === 'revive' && c.member.pkiId.equals(selves[2]!.pkiId));
      assert.ok(revived.length >= 1, `peer ${i} reported no revive of C`);
    }
  });

  it('sent nothing a Fabric peer would drop as illegal (tags as Fabric’s IsTagLegal requires)', () => {
    assert.deepEqual(illegal, []);
  });

  it('stops leaving nothing running', async () => {
    for (const m of memberships) m.stop();
    await Promise.all(comms.map((c) => c.stop()));
    await expectNoLeaks(baseline);
  });
});
