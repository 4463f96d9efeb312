import Long from 'long';
import type { ConnectionInfo } from '../comm/connection-info.js';
import type { SignedMessage } from '../wire/signed-message.js';
import { originOf } from './data-origin.js';

/** A data message that reached this peer for the first time, as push or pull delivers it. */
export interface DataDelivery {
  /** Its digest (the key it is stored and pulled under). */
  readonly digest: string;
  /** The message as received: forward this (its signed payload bytes are kept). */
  readonly message: SignedMessage;
  /** The payload's seq_num. */
  readonly seqNum: Long;
  /** The payload's data. */
  readonly data: Uint8Array;
  /** The peer it came from (not necessarily its originator). */
  readonly from: ConnectionInfo;
  /**
   * The PKI-ID the message names as its originator (see data-origin.ts), when it names one:
   * verified when the pipeline that delivered it checks origins, a mere claim otherwise.
   */
  readonly origin?: Buffer;
}

/** Builds the delivery of a data message (one whose digest was computed, so it has a payload). */
export function toDelivery(digest: string, message: SignedMessage, from: ConnectionInfo): DataDelivery {
  const payload = message.message.dataMsg?.payload;
  const origin = originOf(message);
  return {
    digest,
    message,
    seqNum: Long.fromValue(payload?.seqNum ?? 0).toUnsigned(),
    data: payload?.data ?? new Uint8Array(0),
    from,
    ...(origin ? { origin } : {}),
  };
}
