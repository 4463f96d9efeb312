import { X509Certificate, type KeyObject } from 'node:crypto';
import { IdentityError } from '../errors.js';
import { MspIdentityMapper, type IdentityMapper } from '../identity/identity-mapper.js';
import type { MspManager } from '../identity/msp.js';
import { parseIdentity, pkiIdOf } from '../identity/serialized-identity.js';
import { verifySignature } from '../identity/signer.js';

/** Whether our MSPs validate an identity, and if not, why. */
export interface TrustVerdict {
  readonly trusted: boolean;
  /** The MSP validation error, when not trusted. */
  readonly reason?: string;
}

interface Entry {
  readonly identity: Uint8Array;
  readonly publicKey: KeyObject;
  readonly verdict: TrustVerdict;
}

/**
 * The identity mapper of the diagnostic commands (probe, watch). Strict, it is the MSP mapper.
 * Lenient (the default), it also accepts remotes our MSPs do not validate, so that a probe can
 * say who an untrusted peer claims to be: it still requires a well-formed identity whose PKI-ID
 * matches and whose certificate's key made the handshake signature, and it records a verdict per
 * PKI-ID (`verdictOf`) for the command to print. Nothing is gossiped on such a connection.
 */
export class ReportingIdentityMapper implements IdentityMapper {
  readonly #trusted: MspIdentityMapper;
  readonly #strict: boolean;
  readonly #entries = new Map<string, Entry>();

  constructor(msp: MspManager, self: { pkiId: Uint8Array; identity: Uint8Array }, options: { strict?: boolean } = {}) {
    this.#trusted = new MspIdentityMapper(msp, self);
    this.#strict = options.strict === true;
  }

  put(pkiId: Uint8Array, identity: Uint8Array): void {
    if (pkiId.length === 0) throw new IdentityError('empty PKI-ID');
    const derived = pkiIdOf(identity);
    if (!derived.equals(Buffer.from(pkiId))) {
      throw new IdentityError(`PKI-ID does not match identity: the identity's is ${derived.toString('hex')}`);
    }
    let verdict: TrustVerdict;
    try {
      this.#trusted.put(pkiId, identity);
      verdict = { trusted: true };
    } catch (err: unknown) {
      if (this.#strict || !(err instanceof IdentityError)) throw err;
      verdict = { trusted: false, reason: err.message };
    }
    this.#entries.set(hex(pkiId), { identity: Uint8Array.from(identity), publicKey: publicKeyOf(identity), verdict });
  }

  get(pkiId: Uint8Array): Uint8Array | undefined {
    return this.#entries.get(hex(pkiId))?.identity ?? this.#trusted.get(pkiId);
  }

  pkiIdOf(identity: Uint8Array): Buffer {
    return pkiIdOf(identity);
  }

  verify(pkiId: Uint8Array, signature: Uint8Array, message: Uint8Array): void {
    const entry = this.#entries.get(hex(pkiId));
    if (!entry) {
      this.#trusted.verify(pkiId, signature, message);
      return;
    }
    verifySignature(entry.publicKey, message, signature);
  }

  verifyByIdentity(identity: Uint8Array, signature: Uint8Array, message: Uint8Array): void {
    if (this.#strict) {
      this.#trusted.verifyByIdentity(identity, signature, message);
      return;
    }
    verifySignature(publicKeyOf(identity), message, signature);
  }

  delete(pkiId: Uint8Array): void {
    this.#entries.delete(hex(pkiId));
    this.#trusted.delete(pkiId);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The verdict recorded when `pkiId` was stored, if it was. */
  verdictOf(pkiId: Uint8Array): TrustVerdict | undefined {
    return this.#entries.get(hex(pkiId))?.verdict;
  }
}

function publicKeyOf(identity: Uint8Array): KeyObject {
  const { mspid, idBytes } = parseIdentity(identity);
  try {
    return new X509Certificate(Buffer.from(idBytes)).publicKey;
  } catch (err: unknown) {
    throw new IdentityError(`identity of MSP "${mspid}" is not an X.509 certificate: ${String(err)}`, { cause: err });
  }
}

function hex(pkiId: Uint8Array): string {
  return Buffer.from(pkiId.buffer, pkiId.byteOffset, pkiId.byteLength).toString('hex');
}
