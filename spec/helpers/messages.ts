// Data messages numbered by seq_num, as the comm specs send and check them.
import type { GossipMessageInit, ReceivedMessage } from '../../lib/index.js';

/** A DataMessage with seq_num `seq` (also its nonce) and `size` bytes of data. */
export function data(seq: number, size = 0): GossipMessageInit {
  return { nonce: seq, dataMsg: { payload: { seqNum: seq, data: Buffer.alloc(size, seq % 251) } } };
}

/** Whether a received message is a DataMessage. */
export function isData(m: ReceivedMessage): boolean {
  return m.message.content === 'dataMsg';
}

/** The seq_num of a received DataMessage. */
export function seqOf(m: ReceivedMessage): number {
  return Number(m.message.dataMsg!.payload!.seqNum);
}
