import { randomBytes } from 'node:crypto';

/**
 * A random serial number of 16 bytes as hex, like cryptogen's 128-bit ones. Serials must be unique
 * per issuer; randomness gives that without keeping state across runs that reuse a CA.
 * @peculiar/x509 encodes it as a positive, minimal DER INTEGER, so the first byte is kept in
 * 0x01..0x7f: never a 0x00 that minimal DER would drop, nor a top bit that would need one
 * prepended. Every serial is then 16 bytes on the wire (about 127 random bits), whatever the draw.
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}
