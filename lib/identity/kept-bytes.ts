/**
 * Bytes that may be kept by reference. Whoever keeps identity bytes for long (the identity
 * mapper, a validated identity in the MSP's cache) must not keep a view into memory it does not
 * own: a decoded field is a view into the buffer received (a message, or a slab of Buffer's
 * shared 8 KiB pool), which it would pin, and whose owner may reuse it. So by default it copies.
 *
 * A handshake's identity is different: the connection keeps it, for its whole life, in an
 * allocation of its own sized to what it holds, never written again (handshake.ts keptCopy).
 * Marked here, the mapper and the MSP keep that same view instead of a copy each: one copy of
 * an identity per connection instead of three (and no second copy of its certificate's DER).
 */
const immutable = new WeakSet<Uint8Array>();

/** Marks `bytes` as never written again and in an allocation about its size; returns it. */
export function markKeepable<T extends Uint8Array>(bytes: T): T {
  immutable.add(bytes);
  return bytes;
}

/** Whether `bytes` was marked keepable (see markKeepable). */
export function isKeepable(bytes: Uint8Array): boolean {
  return immutable.has(bytes);
}

/** `bytes` itself when marked keepable, else a copy in an allocation of its own. */
export function keepable(bytes: Uint8Array): Uint8Array {
  return immutable.has(bytes) ? bytes : ownCopy(bytes);
}

/**
 * A copy of `bytes` in an allocation of its own: Buffer.from of a small array would take a slice
 * of Buffer's shared 8 KiB pool, which bytes kept for long would pin.
 */
export function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}
