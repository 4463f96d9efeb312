// `rxgossip peer` as a child process: it bootstraps to a comm in this process, answers probes,
// prints what it receives, publishes stdin lines, serves /metrics, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { createMembership, createPush, type Membership, type MembershipChange, type Push } from '../../lib/gossip/index.js';
import { gossip, type Comm } from '../../lib/index.js';
import { tcpReachable } from '../../lib/cli/explain-failure.js';
import { parseHostPort } from '../../lib/cli/parse.js';
import { fixtureComm, fixtureDir, fixturePeer, killAll, runCli, startCli, type CliProcess } from './helpers.js';

let bootstrap: Comm;

before(async () => {
  bootstrap = await fixtureComm('peer0');
});

after(async () => {
  await killAll();
  await bootstrap.stop();
});

/** The value of an unlabelled series in a Prometheus text exposition. */
function series(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `no ${name} in:\n${text}`);
  return Number(m[1]);
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('peer --mode comm', () => {
  let cli: CliProcess;
  let endpoint: string;
  let metricsUrl: string;

  before(async () => {
    cli = startCli([
      'peer', '--peer-dir', fixtureDir('peer1'), '--listen', '127.0.0.1:0', '--bootstrap', bootstrap.endpoint,
      '--metrics', '127.0.0.1:0', '--json', '--log-level', 'debug', '--mode', 'comm',
    ]);
    const listening = JSON.parse((await cli.waitFor(/^\{"event":"listening".*$/m))[0]) as { endpoint: string; metrics: string; pkiId: string; mode: string };
    endpoint = listening.endpoint;
    metricsUrl = listening.metrics;
    assert.equal(listening.pkiId, (await fixturePeer('peer1')).pkiId.toString('hex'));
    assert.equal(listening.mode, 'comm');
    await cli.waitFor(new RegExp(`^\\{"event":"connected","endpoint":"${bootstrap.endpoint}","pkiId":"${bootstrap.getPKIid().toString('hex')}"\\}$`, 'm'));
  });

  after(() => cli.kill());

  it('logs JSON lines on stderr (not a TTY) at --log-level', async () => {
    await cli.waitFor(/"msg":"outbound connection"/, 'stderr');
    const records = cli.stderr
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { level: number; msg: string; endpoint?: string });
    const dial = records.find((r) => r.msg === 'outbound connection');
    assert.equal(dial?.level, 20, 'debug');
    assert.equal(dial?.endpoint, bootstrap.endpoint);
  });

  it('answers a Ping and a probe handshake', async () => {
    assert.ok((await bootstrap.probe({ endpoint })) > 0);
    const info = await bootstrap.handshake({ endpoint });
    assert.equal(info.pkiId.toString('hex'), (await fixturePeer('peer1')).pkiId.toString('hex'));
  });

  it('answers `rxgossip probe --handshake` from another process', async () => {
    const r = await runCli(['probe', endpoint, '--handshake', '--peer-dir', fixtureDir('peer2')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  subject .*CN=peer1\.org1\.example\.com$/m);
  });

  it('prints data messages it receives, and the metrics count them', async () => {
    const before = await scrape(metricsUrl);
    assert.equal(series(before, 'gossip_comm_connections'), 1);
    const to = { endpoint, pkiId: (await fixturePeer('peer1')).pkiId };
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      bootstrap.send({ tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload: { seqNum: i + 1, data: Buffer.from(text) } } }, to);
    }
    await cli.waitFor(/"event":"data".*"seqNum":"3"/);
    const data = cli.jsonLines().filter((e) => e.event === 'data');
    assert.deepEqual(
      data.map((e) => [e.seqNum, e.text, (e.from as { pkiId: string }).pkiId]),
      [
        ['1', 'one', bootstrap.getPKIid().toString('hex')],
        ['2', 'two', bootstrap.getPKIid().toString('hex')],
        ['3', 'three', bootstrap.getPKIid().toString('hex')],
      ],
    );
    const afterText = await scrape(metricsUrl);
    assert.equal(series(afterText, 'gossip_comm_messages_received') - series(before, 'gossip_comm_messages_received'), 3);
    assert.match(afterText, /^gossip_comm_messages_dropped\{reason="overflow"\} 0$/m);
    assert.match(afterText, /^gossip_comm_queue_depth 0$/m);
  });

  it('publishes each stdin line to its peers as a data message', async () => {
    const sentBefore = series(await scrape(metricsUrl), 'gossip_comm_messages_sent');
    const received = firstValueFrom(
      bootstrap.accept((m) => m.message.content === 'dataMsg').pipe(take(2), toArray(), timeout(10_000)),
    );
    cli.child.stdin.write('hello gossip\n\nsecond line\n');
    const [first, second] = await received;
    assert.equal(Buffer.from(first!.message.dataMsg!.payload!.data!).toString(), 'hello gossip');
    assert.equal(first!.message.dataMsg!.payload!.seqNum!.toString(), '1');
    assert.equal(first!.message.tag, gossip.GossipMessage.Tag.CHAN_AND_ORG);
    assert.equal(Buffer.from(second!.message.dataMsg!.payload!.data!).toString(), 'second line');
    await cli.waitFor(/"event":"published","seqNum":"2","peers":1/);
    assert.equal(series(await scrape(metricsUrl), 'gossip_comm_messages_sent') - sentBefore, 2);
  });

  it('stops cleanly on SIGTERM: exit 0, comm and metrics server closed', async () => {
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(cli.jsonLines().at(-1), { event: 'stopped', signal: 'SIGTERM' });
    assert.doesNotMatch(result.stderr, /forcing exit/);
    await assert.rejects(fetch(metricsUrl), 'the metrics endpoint is closed');
    assert.match(String(await tcpReachable(parseHostPort(endpoint), 1_000)), /connection refused/, 'the gossip endpoint is closed');
  });
});

describe('peer --mode gossip (the default): membership and push from lib/gossip', () => {
  let other: Comm;
  let membership: Membership;
  let push: Push;
  let cli: CliProcess;
  const change = (type: MembershipChange['type'], pkiId: Buffer): Promise<MembershipChange> =>
    firstValueFrom(membership.changes$.pipe(filter((c) => c.type === type && c.member.pkiId.equals(pkiId)), take(1), timeout(10_000)));

  before(async () => {
    other = await fixtureComm('peer2');
    const self = await fixturePeer('peer2');
    membership = createMembership(other, { self, aliveIntervalMs: 200, aliveExpirationMs: 1_000 });
    push = createPush(other, membership);
  });

  after(async () => {
    await cli?.kill();
    push.stop();
    membership.stop();
    await other.stop();
  });

  it('joins the membership through its bootstrap peer, and each side sees the other join', async () => {
    const peer3 = (await fixturePeer('peer3')).pkiId;
    const joined = change('join', peer3);
    cli = startCli([
      'peer', '--peer-dir', fixtureDir('peer3'), '--listen', '127.0.0.1:0', '--bootstrap', other.endpoint,
      '--alive-interval', '200', '--alive-expiration', '1000', '--json', '--log-level', 'warn',
    ]);
    const listening = JSON.parse((await cli.waitFor(/^\{"event":"listening".*$/m))[0]) as { mode: string; endpoint: string };
    assert.equal(listening.mode, 'gossip');
    await cli.waitFor(new RegExp(`"event":"membership","change":"join","pkiId":"${other.getPKIid().toString('hex')}","endpoint":"${other.endpoint}"`));
    assert.equal((await joined).member.endpoint, listening.endpoint);
  });

  it('prints data pushed to it, and pushes stdin lines to the members', async () => {
    const delivered = firstValueFrom(push.delivered$.pipe(take(1), timeout(10_000)));
    push.publish(Buffer.from('from the test'));
    await cli.waitFor(/"event":"data".*"text":"from the test","via":"push"/);
    cli.child.stdin.write('from the cli\n');
    const d = await delivered;
    assert.equal(Buffer.from(d.data).toString(), 'from the cli');
    assert.equal(d.seqNum.toString(), '1');
    assert.ok(d.from.pkiId.equals((await fixturePeer('peer3')).pkiId));
    await cli.waitFor(/"event":"published","seqNum":"1","alive":1/);
  });

  it('prints a member dead once its alive messages stop, then stops on SIGTERM', async () => {
    membership.stop();
    await cli.waitFor(new RegExp(`"event":"membership","change":"dead","pkiId":"${other.getPKIid().toString('hex')}".*"reason":"expired"`));
    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(cli.jsonLines().at(-1), { event: 'stopped', signal: 'SIGTERM' });
  });
});

describe('peer: bad input', () => {
  it('a --listen address in use: exit 1 with the reason', async () => {
    const r = await runCli(['peer', '--peer-dir', fixtureDir('peer1'), '--listen', bootstrap.endpoint]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^rxgossip peer: --listen: cannot listen on ${bootstrap.endpoint}: .*\\n$`));
  });

  it('an unknown --mode: exit 2', async () => {
    const r = await runCli(['peer', '--peer-dir', fixtureDir('peer1'), '--listen', '127.0.0.1:0', '--mode', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /option '--mode <mode>' argument 'nope' is invalid\. Allowed choices are gossip, comm/);
  });
});

describe('peer --mode gossip --no-external-endpoint --publish-cert-period 0 (Fabric’s core.yaml defaults)', () => {
  let other: Comm;
  let membership: Membership;
  let cli: CliProcess;

  before(async () => {
    other = await fixtureComm('peer1');
    membership = createMembership(other, { aliveIntervalMs: 200, aliveExpirationMs: 1_000, publishCertPeriodMs: 0 });
  });

  after(async () => {
    await cli?.kill();
    membership.stop();
    await other.stop();
  });

  it('is known by its listen address, verified by the identities of the handshakes alone, and stays alive', async () => {
    const peer3 = (await fixturePeer('peer3')).pkiId;
    const joined = firstValueFrom(
      // Generous: a child process starting tsx on a loaded machine can take seconds.
      membership.changes$.pipe(filter((c) => c.type === 'join' && c.member.pkiId.equals(peer3)), take(1), timeout(30_000)),
    );
    cli = startCli([
      'peer', '--peer-dir', fixtureDir('peer3'), '--listen', '127.0.0.1:0', '--bootstrap', other.endpoint, '--no-external-endpoint',
      '--publish-cert-period', '0', '--alive-interval', '200', '--alive-expiration', '1000', '--json', '--log-level', 'warn',
    ]);
    const listening = JSON.parse((await cli.waitFor(/^\{"event":"listening".*$/m, 'stdout', 30_000))[0]) as { endpoint: string };
    assert.match(listening.endpoint, /^127\.0\.0\.1:\d+$/);
    const member = (await joined).member;
    assert.equal(member.externalEndpoint, '', 'no external endpoint announced');
    assert.equal(member.endpoint, listening.endpoint, 'reached at the internal endpoint of the secret envelope');
    await cli.waitFor(new RegExp(`"event":"membership","change":"join","pkiId":"${other.getPKIid().toString('hex')}"`), 'stdout', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past an expiration: nobody embeds an identity
    assert.ok(membership.view().alive.some((m) => m.pkiId.equals(peer3)), 'still alive');
    assert.doesNotMatch(cli.stdout, /"change":"dead"/);
    assert.equal(membership.stats().invalid + membership.stats().unknownIdentity, 0);
  });
});
