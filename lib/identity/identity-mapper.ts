import { IdentityError, SignatureError } from '../errors.js';
import { keepable } from './kept-bytes.js';
import type { MspManager, ValidatedIdentity } from './msp.js';
import { pkiIdOf } from './serialized-identity.js';
import { verifySignature } from './signer.js';

/**
 * Fabric's `identity.Mapper`: which identity stands behind each PKI-ID, and signature checks
 * against it. Pluggable so a deployment can map identities differently (the comm layer only
 * relies on this contract).
 */
export interface IdentityMapper {
  /**
   * Remembers `identity` under `pkiId`. Throws IdentityError when the identity is not trusted or
   * `pkiId` is not the identity's PKI-ID.
   */
  put(pkiId: Uint8Array, identity: Uint8Array): void;
  /** The identity stored under `pkiId`, or undefined when unknown (or no longer valid). */
  get(pkiId: Uint8Array): Uint8Array | undefined;
  /** The PKI-ID of a serialized identity. Throws IdentityError when it does not parse. */
  pkiIdOf(identity: Uint8Array): Buffer;
  /**
   * Checks `signature` over `message` by the identity stored under `pkiId`.
   * Throws SignatureError when the PKI-ID is unknown or the signature does not verify.
   */
  verify(pkiId: Uint8Array, signature: Uint8Array, message: Uint8Array): void;
  /**
   * Checks `signature` over `message` by `identity`, which need not be stored (the handshake
   * verifies before it stores). Throws IdentityError when the identity is not trusted,
   * SignatureError when the signature does not verify.
   */
  verifyByIdentity(identity: Uint8Array, signature: Uint8Array, message: Uint8Array): void;
  /**
   * Whether an identity is stored under `pkiId`, without counting as a use of it (see
   * MspIdentityMapper's usage threshold). Optional: callers fall back to `get`.
   */
  has?(pkiId: Uint8Array): boolean;
  /** Forgets the identity stored under `pkiId`, if any. */
  delete(pkiId: Uint8Array): void;
  /** How many identities are stored. */
  readonly size: number;
}

/** Options of an MspIdentityMapper. */
export interface MspIdentityMapperOptions {
  /** The clock used for expiry checks; defaults to the system clock. */
  now?: () => Date;
  /**
   * An identity not used (looked up, or verified against) for this long is forgotten, as Fabric's
   * identity mapper purges identities unused for an hour; the local peer's never is. Default 1 h.
   */
  usageThresholdMs?: number;
}

interface Entry {
  readonly identity: Uint8Array;
  readonly validated: ValidatedIdentity;
  /** When it was last looked up or verified against (ms since the epoch). */
  lastUsed: number;
}

/**
 * The MSP-based mapper Fabric peers use: PKI-ID = SHA-256(mspid || id_bytes), identities
 * validated by an MspManager before they are stored, and dropped once their certificate expires
 * or once unused for `usageThresholdMs` (checked whenever they are accessed: no timer). The local
 * peer's own identity, if given, is stored at construction, never purged and survives `delete`,
 * as in Fabric.
 */
export class MspIdentityMapper implements IdentityMapper {
  readonly #msp: MspManager;
  readonly #now: () => Date;
  readonly #entries = new Map<string, Entry>();
  readonly #selfKey: string | undefined;
  readonly #usageThresholdMs: number;

  /**
   * Throws IdentityError when `self` is given but its identity is not trusted by `msp` or does
   * not match its PKI-ID.
   */
  constructor(
    msp: MspManager,
    self?: { pkiId: Uint8Array; identity: Uint8Array },
    options: MspIdentityMapperOptions = {},
  ) {
    this.#msp = msp;
    this.#now = options.now ?? (() => new Date());
    this.#usageThresholdMs = options.usageThresholdMs ?? 60 * 60 * 1000;
    if (self !== undefined) {
      this.put(self.pkiId, self.identity);
      this.#selfKey = keyOf(self.pkiId);
    }
  }

  put(pkiId: Uint8Array, identity: Uint8Array): void {
    if (pkiId.length === 0) throw new IdentityError('empty PKI-ID');
    const validated = this.#msp.validate(identity, this.#now());
    if (!validated.pkiId.equals(pkiId)) {
      throw new IdentityError(
        `PKI-ID does not match identity: got ${keyOf(pkiId)}, the identity's is ${validated.pkiId.toString('hex')}`,
      );
    }
    const now = this.#now().getTime();
    const known = this.#lookup(keyOf(pkiId), now);
    if (known && Buffer.from(known.identity).equals(identity)) {
      known.lastUsed = now;
      return;
    }
    this.#entries.set(keyOf(pkiId), { identity: keepable(identity), validated, lastUsed: now });
  }

  get(pkiId: Uint8Array): Uint8Array | undefined {
    return this.#use(keyOf(pkiId))?.identity;
  }

  has(pkiId: Uint8Array): boolean {
    return this.#lookup(keyOf(pkiId), this.#now().getTime()) !== undefined;
  }

  pkiIdOf(identity: Uint8Array): Buffer {
    return pkiIdOf(identity);
  }

  verify(pkiId: Uint8Array, signature: Uint8Array, message: Uint8Array): void {
    const key = keyOf(pkiId);
    const entry = this.#use(key);
    if (entry === undefined) throw new SignatureError(`unknown PKI-ID ${key}: no identity to verify the signature with`);
    verifySignature(entry.validated.publicKey, message, signature);
  }

  verifyByIdentity(identity: Uint8Array, signature: Uint8Array, message: Uint8Array): void {
    const validated = this.#msp.validate(identity, this.#now());
    verifySignature(validated.publicKey, message, signature);
  }

  delete(pkiId: Uint8Array): void {
    const key = keyOf(pkiId);
    if (key !== this.#selfKey) this.#entries.delete(key);
  }

  get size(): number {
    const now = this.#now().getTime();
    for (const key of [...this.#entries.keys()]) this.#lookup(key, now);
    return this.#entries.size;
  }

  /** The entry under `key`, now used. */
  #use(key: string): Entry | undefined {
    const now = this.#now().getTime();
    const entry = this.#lookup(key, now);
    if (entry !== undefined) entry.lastUsed = now;
    return entry;
  }

  /** The entry under `key`, dropping it if it has expired or gone unused since it was stored. */
  #lookup(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const unused = key !== this.#selfKey && now - entry.lastUsed > this.#usageThresholdMs;
    if (entry.validated.notAfter.getTime() < now || unused) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function keyOf(pkiId: Uint8Array): string {
  return Buffer.from(pkiId.buffer, pkiId.byteOffset, pkiId.byteLength).toString('hex');
}
