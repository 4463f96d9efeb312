// Hand-built ConnEstablish envelopes, right or wrong in exactly one way, for handshake tests.
import { createHash } from 'node:crypto';
import { gossip, parseDerSignature, encodeDerSignature, curveOrder, type LocalPeer } from '../../lib/index.js';

export interface CraftOptions {
  pkiId?: Uint8Array;
  identity?: Uint8Array;
  tlsCertHash?: Uint8Array;
  probe?: boolean;
  /** How to sign: the peer's own key (default), another peer's, none, or a high-S signature. */
  signature?: 'valid' | 'empty' | 'high-s' | { signer: LocalPeer } | 'corrupt';
  /** Replace the conn content by another message type. */
  notConn?: boolean;
}

/** The envelope bytes `peer` would send as ConnEstablish, altered as `options` says. */
export function craftConnEstablish(peer: LocalPeer, options: CraftOptions = {}): Buffer {
  const message: gossip.IGossipMessage = options.notConn
    ? { nonce: 0, tag: gossip.GossipMessage.Tag.EMPTY, empty: {} }
    : {
        nonce: 0,
        tag: gossip.GossipMessage.Tag.EMPTY,
        conn: {
          pkiId: options.pkiId ?? peer.pkiId,
          identity: options.identity ?? peer.identity,
          tlsCertHash: options.tlsCertHash ?? peer.tls.certHash,
          probe: options.probe ?? false,
        },
      };
  const payload = gossip.GossipMessage.encode(message).finish();
  let signature: Uint8Array;
  const how = options.signature ?? 'valid';
  if (how === 'empty') {
    signature = new Uint8Array(0);
  } else if (how === 'high-s') {
    const { r, s } = parseDerSignature(peer.signer.sign(payload));
    signature = encodeDerSignature(r, curveOrder('P-256') - s);
  } else if (how === 'corrupt') {
    const sig = Buffer.from(peer.signer.sign(payload));
    sig[sig.length - 1]! ^= 0x01;
    signature = sig;
  } else if (how === 'valid') {
    signature = peer.signer.sign(payload);
  } else {
    signature = how.signer.signer.sign(payload);
  }
  return Buffer.from(gossip.Envelope.encode({ payload, signature }).finish());
}

/** SHA-256 of some bytes. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
