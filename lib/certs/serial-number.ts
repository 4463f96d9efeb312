import { randomBytes } from 'node:crypto';

/**
 * A random 128-bit serial number as hex, like cryptogen's. Serials must be unique per issuer;
 * randomness gives that without keeping state across runs that reuse a CA. @peculiar/x509
 * encodes it as a positive, minimal DER INTEGER (a 0x00 is prepended when the top bit is set).
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  // An all-zero draw would make @peculiar/x509 substitute its own serial; keep it ours.
  bytes[15] |= 1;
  return bytes.toString('hex');
}
