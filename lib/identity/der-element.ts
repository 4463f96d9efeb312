/** One element of DER: where its tag, its content and its end are in the buffer read. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the content. */
  readonly content: number;
  /** Offset just past the content. */
  readonly end: number;
}

/**
 * The DER element at `pos`, ending at or before `limit`, with the expected tag if given; undefined
 * for anything else. Only the low tag-number form, and definite lengths in their shortest form
 * (as DER requires), of at most 3 bytes: what rxgossip reads (certificates, TLS sessions) stays
 * below 16 MiB.
 */
export function derElement(buf: Uint8Array, pos: number, limit: number, tag?: number): DerElement | undefined {
  if (pos + 2 > limit) return undefined;
  const t = buf[pos]!;
  if ((t & 0x1f) === 0x1f || (tag !== undefined && t !== tag)) return undefined;
  let length = buf[pos + 1]!;
  let content = pos + 2;
  if (length >= 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 3 || content + bytes > limit || buf[content] === 0) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[content + i]!;
    if (length < 0x80) return undefined;
    content += bytes;
  }
  const end = content + length;
  return end <= limit ? { tag: t, start: pos, content, end } : undefined;
}
