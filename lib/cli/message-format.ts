import Long from 'long';
import { gossip } from '../proto/messages.js';
import type { ReceivedMessage } from '../comm/received-message.js';

/** How bytes fields are printed. */
export type BytesEncoding = 'hex' | 'base64';

/** A received message as one JSON-ready record (watch --json). */
export interface MessageRecord {
  /** When it was received, ISO 8601. */
  readonly time: string;
  /** The authenticated sender. */
  readonly from: { readonly pkiId: string; readonly endpoint: string };
  /** Which field of GossipMessage's `content` oneof is set (e.g. `dataMsg`), or null. */
  readonly content: string | null;
  /** uint64, as a decimal string. */
  readonly nonce: string;
  /** The GossipMessage.Tag name (e.g. `CHAN_AND_ORG`). */
  readonly tag: string;
  readonly channel: string;
  /** The content message, fields in camelCase, bytes encoded, uint64 as strings. */
  readonly body: unknown;
  /** The envelope's signature ('' when unsigned). */
  readonly signature: string;
  /** Envelope size in bytes. */
  readonly size: number;
}

/** Fields that hold an enum, with its names. */
const ENUMS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  tag: invert(gossip.GossipMessage.Tag),
  msgType: invert(gossip.PullMsgType),
};

/** The decoded message as a plain record, ready for JSON.stringify. */
export function messageRecord(received: ReceivedMessage, bytes: BytesEncoding = 'hex', now = new Date()): MessageRecord {
  const msg = received.message;
  const content = msg.content ?? null;
  const body = content === null ? null : toPlain((msg as unknown as Record<string, unknown>)[content], bytes);
  return {
    time: now.toISOString(),
    from: { pkiId: received.connectionInfo.pkiId.toString('hex'), endpoint: received.connectionInfo.endpoint },
    content,
    nonce: Long.fromValue(msg.nonce).toString(),
    tag: ENUMS.tag![msg.tag] ?? String(msg.tag),
    channel: encode(msg.channel ?? new Uint8Array(0), bytes),
    body,
    signature: encode(received.signedMessage.signature, bytes),
    size: received.signedMessage.bytes.length,
  };
}

/** One JSON line per message. */
export function formatMessageJson(received: ReceivedMessage, bytes: BytesEncoding = 'hex', now = new Date()): string {
  return JSON.stringify(messageRecord(received, bytes, now));
}

/**
 * One readable line per message, for a terminal:
 * `12:00:01.123 3e4581d7 127.0.0.1:7051 dataMsg CHAN_AND_ORG nonce=0 seq=4 data="hello"`.
 */
export function formatMessageText(received: ReceivedMessage, now = new Date()): string {
  const msg = received.message;
  const info = received.connectionInfo;
  const tag = ENUMS.tag![msg.tag] ?? String(msg.tag);
  const parts = [
    clock(now),
    info.pkiId.toString('hex').slice(0, 8),
    info.endpoint,
    msg.content ?? '(no content)',
    tag,
    `nonce=${Long.fromValue(msg.nonce).toString()}`,
  ];
  if (msg.channel && msg.channel.length > 0) parts.push(`channel=${printable(msg.channel)}`);
  parts.push(...summary(msg));
  return parts.join(' ');
}

/** The few fields that say what a message is about, per content type. */
function summary(msg: gossip.GossipMessage): string[] {
  switch (msg.content) {
    case 'dataMsg': {
      const p = msg.dataMsg?.payload;
      return p ? [`seq=${Long.fromValue(p.seqNum ?? 0).toString()}`, `data=${printable(p.data ?? new Uint8Array(0))}`] : [];
    }
    case 'aliveMsg': {
      const a = msg.aliveMsg;
      const ts = a?.timestamp;
      return [
        `endpoint=${a?.membership?.endpoint || '-'}`,
        `pki-id=${Buffer.from(a?.membership?.pkiId ?? []).toString('hex').slice(0, 8) || '-'}`,
        ...(ts ? [`inc=${Long.fromValue(ts.incNum ?? 0).toString()}`, `seq=${Long.fromValue(ts.seqNum ?? 0).toString()}`] : []),
      ];
    }
    case 'memRes':
      return [`alive=${msg.memRes?.alive?.length ?? 0}`, `dead=${msg.memRes?.dead?.length ?? 0}`];
    case 'hello':
    case 'dataDig':
    case 'dataReq':
    case 'dataUpdate': {
      const m = msg[msg.content] as { nonce?: number | Long | null; msgType?: number | null; digests?: unknown[]; data?: unknown[] };
      const count = m.digests?.length ?? m.data?.length;
      return [
        `pull-nonce=${Long.fromValue(m.nonce ?? 0).toString()}`,
        `type=${ENUMS.msgType![m.msgType ?? 0] ?? String(m.msgType)}`,
        ...(count !== undefined ? [`items=${count}`] : []),
      ];
    }
    case 'ack':
      return [msg.ack?.error ? `error=${JSON.stringify(msg.ack.error)}` : 'ok'];
    case 'empty':
    case undefined:
      return [];
    default: {
      const text = JSON.stringify(toPlain(msg[msg.content], 'hex'));
      return [text.length > 160 ? `${text.slice(0, 157)}...` : text];
    }
  }
}

/**
 * A decoded protobufjs message as plain JSON data: own fields only, uint64 Longs as decimal
 * strings, bytes encoded, enum fields by name, empty repeated fields left out.
 */
export function toPlain(value: unknown, bytes: BytesEncoding, key?: string): unknown {
  if (value === null || value === undefined) return null;
  if (Long.isLong(value)) return (value as Long).toString();
  if (value instanceof Uint8Array) return encode(value, bytes);
  if (Array.isArray(value)) return value.map((v) => toPlain(v, bytes));
  if (typeof value === 'number' && key !== undefined && ENUMS[key]) return ENUMS[key][value] ?? value;
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = toPlain(v, bytes, k);
  }
  return out;
}

function encode(value: Uint8Array, bytes: BytesEncoding): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString(bytes);
}

/** UTF-8 text in quotes when it is printable, else `0x` hex (shortened past 32 bytes). */
function printable(value: Uint8Array): string {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const text = buf.toString('utf8');
  if (!text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) {
    return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  }
  const hex = buf.subarray(0, 32).toString('hex');
  return `0x${hex}${buf.length > 32 ? `...(${buf.length} bytes)` : ''}`;
}

function clock(now: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
}

function invert(e: object): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [name, value] of Object.entries(e)) if (typeof value === 'number') out[value] = name;
  return out;
}
