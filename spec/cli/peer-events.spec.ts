// The text form of `rxgossip peer` events and of probe reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPeerEvent } from '../../lib/cli/peer-command.js';
import { formatProbeReport } from '../../lib/cli/probe-command.js';

const id = 'ab'.repeat(32);

describe('formatPeerEvent', () => {
  const cases: [Parameters<typeof formatPeerEvent>[0], string][] = [
    [{ event: 'listening', endpoint: '127.0.0.1:7051', pkiId: id, mspid: 'Org1MSP', mode: 'comm' }, `listening on 127.0.0.1:7051 as ${id} (Org1MSP), mode comm`],
    [{ event: 'listening', endpoint: 'h:1', pkiId: id, mspid: 'M', mode: 'comm', metrics: 'http://h:2/metrics' }, `listening on h:1 as ${id} (M), mode comm, metrics at http://h:2/metrics`],
    [{ event: 'connected', endpoint: 'h:1', pkiId: id }, 'connected to h:1 (abababab)'],
    [{ event: 'unreachable', endpoint: 'h:1', error: 'cannot reach h:1: refused' }, 'cannot connect to h:1: cannot reach h:1: refused'],
    [{ event: 'membership', change: 'dead', pkiId: id, endpoint: 'h:1', reason: 'expired' }, 'membership: dead abababab h:1 (expired)'],
    [{ event: 'data', from: { pkiId: id, endpoint: 'h:1' }, seqNum: '4', hex: '6869', text: 'hi' }, 'data seq=4 from abababab (h:1): "hi"'],
    [{ event: 'data', from: { pkiId: id, endpoint: 'h:1' }, seqNum: '4', hex: '00ff' }, 'data seq=4 from abababab (h:1): 0x00ff'],
    [{ event: 'presumed-dead', pkiId: id }, 'presumed dead: abababab'],
    [{ event: 'published', seqNum: '1', peers: 2 }, 'published seq=1 to 2 peer(s)'],
    [{ event: 'published', seqNum: '2', alive: 3 }, 'published seq=2 (3 alive member(s))'],
    [{ event: 'data', from: { pkiId: id, endpoint: 'h:1' }, seqNum: '5', hex: '6869', text: 'hi', via: 'pull' }, 'data seq=5 from abababab (h:1, by pull): "hi"'],
    [{ event: 'stopped', signal: 'SIGINT' }, 'stopped (SIGINT)'],
  ];
  for (const [event, text] of cases) {
    it(event.event, () => assert.equal(formatPeerEvent(event), text));
  }
});

describe('formatProbeReport', () => {
  it('ping only', () => {
    assert.deepEqual(formatProbeReport({ endpoint: 'h:1', pingMs: 1.234 }), ['ping h:1: ok, 1.23 ms']);
  });
  it('an untrusted, expired remote says so', () => {
    const lines = formatProbeReport(
      {
        endpoint: 'h:1',
        pingMs: 1,
        handshake: {
          ms: 2,
          identity: { pkiId: id, mspid: 'M', subject: 'CN=x', issuer: 'CN=ca', serialNumber: '01', notBefore: new Date(0), notAfter: new Date('2020-01-01T00:00:00Z') },
          trusted: { trusted: false, reason: 'does not chain' },
        },
      },
      new Date('2020-01-11T00:00:00Z'),
    );
    assert.ok(lines.includes('  expires  2020-01-01T00:00:00.000Z (EXPIRED 10 days ago)'), lines.join('\n'));
    assert.ok(lines.includes('  trusted  NO: does not chain'));
  });
});
