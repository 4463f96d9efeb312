// Fabric's disclosure rules for alive messages across organizations (gossip node: disclosure
// policy, origin-org routing, secret envelopes stripped outside the org).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Long from 'long';
import { createAliveMessage, internalEndpointOf } from '../../lib/gossip/alive-message.js';
import { concealFor, mayDisclose } from '../../lib/gossip/disclosure.js';

const parties = (memberOrg: string | undefined, targetOrg: string | undefined, memberHasExternalEndpoint = true) => ({
  selfOrg: 'Org1MSP',
  memberOrg,
  targetOrg,
  memberHasExternalEndpoint,
});

describe('disclosure of alive messages', () => {
  it('our org’s members go to everyone; without an external endpoint, only inside our org', () => {
    assert.equal(mayDisclose(parties('Org1MSP', 'Org1MSP')), true);
    assert.equal(mayDisclose(parties('Org1MSP', 'Org2MSP')), true);
    assert.equal(mayDisclose(parties('Org1MSP', 'Org1MSP', false)), true);
    assert.equal(mayDisclose(parties('Org1MSP', 'Org2MSP', false)), false);
  });

  it('a foreign member goes to its own org and to ours, never to a third org', () => {
    assert.equal(mayDisclose(parties('Org2MSP', 'Org2MSP', false)), true);
    assert.equal(mayDisclose(parties('Org2MSP', 'Org1MSP')), true);
    assert.equal(mayDisclose(parties('Org2MSP', 'Org3MSP')), false);
  });

  it('nothing goes when an org is unknown', () => {
    assert.equal(mayDisclose(parties(undefined, 'Org1MSP')), false);
    assert.equal(mayDisclose(parties('Org1MSP', undefined)), false);
  });

  it('the secret envelope (internal endpoint) stays inside our org', () => {
    const signer = { sign: (data: Uint8Array) => Uint8Array.from(data.subarray(0, 4)) };
    const alive = createAliveMessage(
      { pkiId: Buffer.alloc(32, 1), endpoint: '', internalEndpoint: 'peer0:7051', incNum: Long.UONE, seqNum: Long.UONE },
      signer,
    );
    assert.equal(internalEndpointOf(concealFor(alive, 'Org1MSP', 'Org1MSP').envelope.secretEnvelope), 'peer0:7051');
    const outside = concealFor(alive, 'Org1MSP', 'Org2MSP');
    assert.equal(outside.envelope.secretEnvelope, undefined);
    assert.ok(Buffer.from(outside.payload).equals(alive.payload), 'the signed payload is untouched');
    assert.equal(concealFor(alive, 'Org1MSP', undefined).envelope.secretEnvelope, undefined);
  });
});
