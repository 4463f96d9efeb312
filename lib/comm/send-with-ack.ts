import Long from 'long';
import { randomBytes } from 'node:crypto';
import type { RemotePeer } from './connection-info.js';

/** One peer's answer to an acknowledged send. */
export interface AckOutcome {
  readonly peer: RemotePeer;
  /** Empty when the peer acknowledged; its error text (a nack), or why nothing came, otherwise. */
  readonly error: string;
}

/** What sendWithAck returns (Fabric's AggregatedSendResult). */
export class AggregatedSendResult {
  constructor(readonly outcomes: readonly AckOutcome[]) {}
  /** Peers that acknowledged without error. */
  get ackCount(): number {
    return this.outcomes.filter((o) => o.error === '').length;
  }
  /** Peers that answered with an error, failed, or did not answer in time. */
  get nackCount(): number {
    return this.outcomes.length - this.ackCount;
  }
  /** Distinct error texts with how often each occurred. */
  errors(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const o of this.outcomes) if (o.error) counts.set(o.error, (counts.get(o.error) ?? 0) + 1);
    return counts;
  }
}

/** A random uint64 nonce: tells one acknowledged send's acks from another's. */
export function randomNonce(): Long {
  const b = randomBytes(8);
  return new Long(b.readInt32LE(0), b.readInt32LE(4), true);
}

/** Key of an awaited ack: who must answer and with which nonce. */
export function ackKey(pkiId: Uint8Array, nonce: Long | number): string {
  const n = typeof nonce === 'number' ? Long.fromNumber(nonce, true) : Long.fromValue(nonce).toUnsigned();
  return `${Buffer.from(pkiId).toString('hex')}:${n.toString()}`;
}
