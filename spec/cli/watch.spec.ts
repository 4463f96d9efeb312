// `rxgossip watch` as a child process: it connects to a comm in this process and prints what
// that comm sends it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Long, gossip, type Comm } from '../../lib/index.js';
import { fixtureComm, fixtureDir, fixturePeer, killAll, startCli } from './helpers.js';

let server: Comm;

before(async () => {
  server = await fixtureComm('peer0');
});

after(async () => {
  await killAll();
  await server.stop();
});

/** Resolves once `comm` holds a connection from the watcher (it sends nothing to open it). */
async function opening(comm: Comm, pkiId: Buffer): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!comm.connections().some((c) => c.pkiId.equals(pkiId))) {
    if (Date.now() > deadline) throw new Error('the watcher did not connect');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watch', () => {
  it('--json prints each message sent to it as a JSON line, then stops after --count', async () => {
    const watcher = await fixturePeer('peer2');
    const opened = opening(server, watcher.pkiId);
    const cli = startCli(['watch', server.endpoint, '--peer-dir', fixtureDir('peer2'), '--json', '--count', '2']);
    await cli.waitFor(/^watching .*: peer0\.org1\.example\.com \(Org1MSP\), pki-id [0-9a-f]{64}; Ctrl-C to stop$/m, 'stderr');
    await opened;
    const to = { endpoint: 'unused:1', pkiId: watcher.pkiId };
    server.send({ nonce: 42, tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, channel: Buffer.from('mychannel'), dataMsg: { payload: { seqNum: 7, data: Buffer.from('hello') } } }, to);
    server.send({ nonce: Long.MAX_UNSIGNED_VALUE, tag: gossip.GossipMessage.Tag.EMPTY, ack: { error: 'nope' } }, to);
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    const [data, ack, ...rest] = cli.jsonLines();
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...data, time: undefined, size: undefined },
      {
        time: undefined,
        size: undefined,
        from: { pkiId: server.getPKIid().toString('hex'), endpoint: (data!.from as { endpoint: string }).endpoint },
        content: 'dataMsg',
        nonce: '42',
        tag: 'CHAN_AND_ORG',
        channel: Buffer.from('mychannel').toString('hex'),
        body: { payload: { seqNum: '7', data: Buffer.from('hello').toString('hex') } },
        signature: '',
      },
    );
    assert.match(String(data!.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof data!.size, 'number');
    assert.equal(ack!.content, 'ack');
    assert.equal(ack!.nonce, '18446744073709551615', 'a uint64 is printed exactly, as a string');
    assert.deepEqual(ack!.body, { error: 'nope' });
  });

  it('--text prints one readable line per message', async () => {
    const watcher = await fixturePeer('peer3');
    const opened = opening(server, watcher.pkiId);
    const cli = startCli(['watch', server.endpoint, '--peer-dir', fixtureDir('peer3'), '--text', '--count', '1']);
    await opened;
    server.send({ tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload: { seqNum: 3, data: Buffer.from('hi there') } } }, { endpoint: 'unused:1', pkiId: watcher.pkiId });
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${server.getPKIid().toString('hex').slice(0, 8)} \\S+ dataMsg CHAN_AND_ORG nonce=0 seq=3 data="hi there"\\n$`),
    );
  });

  it('--duration ends a quiet watch with exit 0 and no output', async () => {
    const result = await startCli(['watch', server.endpoint, '--peer-dir', fixtureDir('peer1'), '--duration', '0.3']).exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^watching /);
  });

  it('exits 1 when the remote goes away', async () => {
    const other = await fixtureComm('peer3');
    try {
      const watcher = await fixturePeer('peer1');
      const opened = opening(other, watcher.pkiId);
      const cli = startCli(['watch', other.endpoint, '--peer-dir', fixtureDir('peer1')]);
      await opened;
      await cli.waitFor(/^watching /, 'stderr');
      await other.stop();
      const result = await cli.exited;
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`rxgossip watch: connection to ${other.endpoint} closed by the remote after 0 message\\(s\\)\\n$`));
    } finally {
      await other.stop();
    }
  });
});

