import { KeyObject, X509Certificate, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { IdentityError } from '../errors.js';
import { jwkOf, looseName, readDerCertificate, type DerCertificate } from './der-certificate.js';
import { isKeepable, ownCopy } from './kept-bytes.js';
import { decodeCertificateBundle, decodeCertificatePem } from './pem.js';
import { parseIdentity, pkiIdOfParsed, type ParsedIdentity } from './serialized-identity.js';
import { curveOf } from './signer.js';

/** The trust anchors of one MSP (organisation): its root CAs and, optionally, intermediate CAs. */
export interface MspConfig {
  mspid: string;
  /** PEM (one or more certificates per entry) or DER root CA certificates. */
  rootCerts: (string | Buffer)[];
  /** PEM or DER intermediate CA certificates; a leaf may chain through any of them. */
  intermediateCerts?: (string | Buffer)[];
}

/**
 * An identity that passed MSP validation. Shared between callers through the cache: treat it,
 * and `pkiId` in particular, as read-only.
 */
export interface ValidatedIdentity {
  readonly mspid: string;
  readonly certificate: X509Certificate;
  readonly publicKey: KeyObject;
  readonly pkiId: Buffer;
  /** The certificate subject on one line, e.g. `C=US, ST=California, ..., CN=peer0.org1.example.com`. */
  readonly subject: string;
  /** From when the identity validates: the latest notBefore of the certificate and its chain. */
  readonly notBefore: Date;
  /** Until when the identity validates: the earliest notAfter of the certificate and its chain. */
  readonly notAfter: Date;
}

/** Options of an MspManager. */
export interface MspManagerOptions {
  /** How many successful validations to remember (least recently used go first); 0 disables. Default 10,000. */
  cacheSize?: number;
}

interface Msp {
  readonly mspid: string;
  readonly roots: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  /**
   * The roots then the intermediates, as read without OpenSSL, for identities validated the
   * same way (see #validateRead); undefined when one of them is beyond that reader.
   */
  readonly issuers: readonly Issuer[] | undefined;
}

/** A CA of an MSP, read once: what a leaf it issued is checked against. */
interface Issuer {
  readonly read: DerCertificate;
  /** The loose form of its subject (see looseName). */
  readonly subjectLoose: string;
  readonly publicKey: KeyObject;
  /** Every chain from this CA (included) to a root, as findChains lists them. */
  readonly chains: readonly (readonly X509Certificate[])[];
}

const DEFAULT_CACHE_SIZE = 10_000;
/** Longest run of intermediates followed; real MSPs have one or two. */
const MAX_INTERMEDIATES = 8;
/** Stop collecting alternative chains after this many (same-name CAs with different keys). */
const MAX_CHAINS = 16;

/**
 * Validates serialized identities against the trusted CAs of each known MSP, as a Fabric peer's
 * MSP does for gossip: the identity is exactly one PEM certificate, not a CA, inside its validity
 * period, and chains (by issuer name and signature, through the MSP's intermediates) to one of
 * the MSP's root CAs, every chain certificate being a CA inside its validity period.
 * NodeOU classification, CRLs and name constraints are not checked.
 */
export class MspManager {
  readonly #msps = new Map<string, Msp>();
  readonly #cache = new Map<string, ValidatedIdentity>();
  readonly #cacheSize: number;

  /**
   * Throws IdentityError when a config has an empty or duplicate MSP id, no root CA, or a
   * root or intermediate that is not a parseable CA certificate.
   */
  constructor(configs: MspConfig[], options: MspManagerOptions = {}) {
    this.#cacheSize = Math.max(0, Math.floor(options.cacheSize ?? DEFAULT_CACHE_SIZE));
    for (const config of configs) {
      if (!config.mspid) throw new IdentityError('MSP config has an empty MSP id');
      if (this.#msps.has(config.mspid)) throw new IdentityError(`MSP "${config.mspid}" is configured twice`);
      const roots = parseCaCerts(config.rootCerts, `root CA of MSP "${config.mspid}"`);
      if (roots.length === 0) throw new IdentityError(`MSP "${config.mspid}" has no root CA certificate`);
      const intermediates = parseCaCerts(config.intermediateCerts ?? [], `intermediate CA of MSP "${config.mspid}"`);
      const msp = { mspid: config.mspid, roots, intermediates };
      this.#msps.set(config.mspid, { ...msp, issuers: readIssuers(msp) });
    }
  }

  /** The MSP ids this manager trusts. */
  get mspids(): string[] {
    return [...this.#msps.keys()];
  }

  /** Whether `mspid` is a known MSP. */
  has(mspid: string): boolean {
    return this.#msps.has(mspid);
  }

  /** How many validations are cached. */
  get cachedCount(): number {
    return this.#cache.size;
  }

  /**
   * Validates a serialized identity (`msp.SerializedIdentity` bytes) at time `now`.
   * Results are cached by identity bytes, since every handshake re-validates the same few
   * identities; a cached result is returned only while `now` is still inside its validity window.
   * Throws IdentityError naming the cause: the identity does not parse, its MSP is unknown,
   * id_bytes is not exactly one PEM certificate (e.g. "has trailing bytes"), the certificate is a
   * CA, has an unsupported key, is expired or not yet valid, or cannot be validated against the
   * MSP's CAs (no chain, or a chain certificate outside its validity period).
   */
  validate(identity: Uint8Array, now: Date = new Date()): ValidatedIdentity {
    const time = now.getTime();
    if (Number.isNaN(time)) throw new IdentityError('cannot validate an identity at an invalid date');
    const key = this.#cacheSize > 0 ? createHash('sha256').update(identity).digest('base64') : '';
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.#cache.delete(key);
      if (time >= hit.notBefore.getTime() && time <= hit.notAfter.getTime()) {
        this.#cache.set(key, hit);
        return hit;
      }
      // Outside its window: validate afresh to report the precise reason.
    }
    const result = this.#validate(identity, now);
    if (this.#cacheSize > 0) {
      if (this.#cache.size >= this.#cacheSize) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(key, result);
    }
    return result;
  }

  #validate(identity: Uint8Array, now: Date): ValidatedIdentity {
    const parsed = parseIdentity(identity);
    const { mspid, idBytes } = parsed;
    const msp = this.#msps.get(mspid);
    if (msp === undefined) {
      throw new IdentityError(`MSP "${mspid}" is unknown (trusted MSPs: ${this.mspids.join(', ') || 'none'})`);
    }
    let der: Buffer;
    try {
      der = decodeCertificatePem(idBytes);
    } catch (err) {
      throw new IdentityError(`identity of MSP "${mspid}" is invalid: ${messageOf(err)}`, { cause: err });
    }
    const read = validateRead(msp, identity, parsed, der, now);
    if (read !== undefined) return read;
    // OpenSSL's view: the reference, and what names the reason of a refusal.
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (err) {
      throw new IdentityError(`identity of MSP "${mspid}" is not a valid X.509 certificate: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const subject = oneLine(cert.subject);
    const what = `identity "${subject}" of MSP "${mspid}"`;
    if (cert.ca) {
      throw new IdentityError(`${what} is a CA certificate (basic constraints CA:TRUE) and cannot be used as an identity`);
    }
    // The certificate may parse while its key does not (node throws a plain Error on access).
    let publicKey: KeyObject;
    try {
      publicKey = cert.publicKey;
    } catch (err) {
      throw new IdentityError(`${what} has a public key that does not decode: ${messageOf(err)}`, { cause: err });
    }
    if (curveOf(publicKey) === undefined) {
      throw new IdentityError(`${what} has an unsupported public key: ECDSA on P-256 or P-384 is required`);
    }
    const leafProblem = timeProblem(cert, now, 'certificate');
    if (leafProblem !== undefined) throw new IdentityError(`${what} is not valid: ${leafProblem}`);

    const chains = findChains(cert, msp, [], []);
    if (chains.length === 0) {
      throw new IdentityError(
        `${what} cannot be validated: it does not chain to a root CA of the MSP (issuer "${oneLine(cert.issuer)}")`,
      );
    }
    let firstProblem: string | undefined;
    for (const chain of chains) {
      const problem = chain.map((ca) => timeProblem(ca, now, 'CA certificate')).find((p) => p !== undefined);
      if (problem !== undefined) {
        firstProblem ??= problem;
        continue;
      }
      const all = [cert, ...chain];
      return Object.freeze({
        mspid,
        certificate: cert,
        publicKey,
        pkiId: pkiIdOfParsed(parsed),
        subject,
        notBefore: new Date(Math.max(...all.map((c) => validity(c).notBefore.getTime()))),
        notAfter: new Date(Math.min(...all.map((c) => validity(c).notAfter.getTime()))),
      });
    }
    throw new IdentityError(`${what} cannot be validated: ${firstProblem ?? 'no valid chain'}`);
  }
}

/**
 * Validates a leaf the way #validate does, from the certificate read without OpenSSL (see
 * der-certificate.ts): not a CA, inside its validity period, issued (same issuer name, matching
 * key identifier if both carry one, CA allowed to sign certificates, signature verified with the
 * CA's key) by a root or an intermediate whose chain is inside its validity period.
 * Returns undefined whenever it cannot decide that the identity is valid: #validate then asks
 * OpenSSL, which also names the reason of a refusal. So this path only ever accepts.
 */
function validateRead(
  msp: Msp,
  serialized: Uint8Array,
  identity: ParsedIdentity,
  der: Buffer,
  now: Date,
): ValidatedIdentity | undefined {
  const issuers = msp.issuers;
  if (issuers === undefined) return undefined;
  const leaf = readDerCertificate(der);
  const time = now.getTime();
  if (leaf === undefined || leaf.isCa || time < leaf.notBefore || time > leaf.notAfter) return undefined;
  const chains: (readonly X509Certificate[])[] = [];
  let issuerLoose: string | undefined;
  for (const issuer of issuers) {
    if (chains.length >= MAX_CHAINS) break;
    const ca = issuer.read;
    if (!leaf.issuer.equals(ca.subject)) {
      // OpenSSL compares names in a canonical form: let it judge names that only look alike.
      issuerLoose ??= looseName(leaf.issuer);
      if (issuerLoose === issuer.subjectLoose) return undefined;
      continue;
    }
    if (ca.keyCertSign === false) continue;
    if (leaf.authorityKeyId && ca.subjectKeyId && !leaf.authorityKeyId.equals(ca.subjectKeyId)) continue;
    let signed: boolean;
    try {
      signed = cryptoVerify(leaf.signatureHash, leaf.tbs, { key: issuer.publicKey, dsaEncoding: 'der' }, leaf.signature);
    } catch {
      signed = false;
    }
    if (!signed) continue;
    for (const chain of issuer.chains) {
      if (chains.length >= MAX_CHAINS) break;
      chains.push(chain);
    }
  }
  for (const chain of chains) {
    const windows = chain.map(validity);
    if (windows.some((w) => time < w.notBefore.getTime() || time > w.notAfter.getTime())) continue;
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: jwkOf(leaf), format: 'jwk' });
    } catch {
      return undefined;
    }
    return new ReadIdentity(
      identity.mspid,
      isKeepable(serialized) ? { serialized } : { der },
      publicKey,
      pkiIdOfParsed(identity),
      new Date(Math.max(leaf.notBefore, ...windows.map((w) => w.notBefore.getTime()))),
      new Date(Math.min(leaf.notAfter, ...windows.map((w) => w.notAfter.getTime()))),
    );
  }
  return undefined;
}

/**
 * A ValidatedIdentity validated from the certificate read without OpenSSL: the X509Certificate
 * (and the subject printed from it) are made on first use, which validation itself never needs.
 * It keeps the certificate's DER, or, when the serialized identity is kept by reference anyway
 * (a connection's, see kept-bytes.ts), that identity alone, from which the DER is read again on
 * first use: one copy of the certificate per connection instead of two.
 */
class ReadIdentity implements ValidatedIdentity {
  readonly #source: { readonly der: Buffer } | { readonly serialized: Uint8Array };
  #certificate: X509Certificate | undefined;
  #subject: string | undefined;

  constructor(
    readonly mspid: string,
    source: { der: Buffer } | { serialized: Uint8Array },
    readonly publicKey: KeyObject,
    readonly pkiId: Buffer,
    readonly notBefore: Date,
    readonly notAfter: Date,
  ) {
    // A DER is kept only in an allocation of its own (decodeCertificatePem makes one): a slice
    // of a larger buffer, such as Buffer's shared pool, would pin all of it while cached.
    if ('der' in source) {
      const der = source.der;
      this.#source = { der: der.byteOffset === 0 && der.buffer.byteLength === der.length ? der : ownCopy(der) };
    } else {
      this.#source = source;
    }
    Object.freeze(this);
  }

  get certificate(): X509Certificate {
    if (this.#certificate === undefined) {
      const source = this.#source;
      // The identity validated once already: it parses and holds exactly one certificate.
      const der = 'der' in source ? source.der : decodeCertificatePem(parseIdentity(source.serialized).idBytes);
      this.#certificate = new X509Certificate(der);
    }
    return this.#certificate;
  }

  get subject(): string {
    this.#subject ??= oneLine(this.certificate.subject);
    return this.#subject;
  }
}

/** The MSP's CAs as read without OpenSSL, roots first; undefined if one of them cannot be read. */
function readIssuers(msp: Omit<Msp, 'issuers'>): Issuer[] | undefined {
  const issuers: Issuer[] = [];
  const full = { ...msp, issuers: undefined };
  for (const [ca, chains] of [
    ...msp.roots.map((root) => [root, [[root]]] as const),
    ...msp.intermediates.map((ca) => [ca, findChains(ca, full, [ca], [])] as const),
  ]) {
    const read = readDerCertificate(ca.raw);
    if (read === undefined || !read.isCa) return undefined;
    issuers.push({ read, subjectLoose: looseName(read.subject), publicKey: ca.publicKey, chains });
  }
  return issuers;
}

/** Every chain (issuers only, ending at a root) that certifies `cert`. */
function findChains(
  cert: X509Certificate,
  msp: Msp,
  path: X509Certificate[],
  out: X509Certificate[][],
): X509Certificate[][] {
  for (const root of msp.roots) {
    if (out.length < MAX_CHAINS && issuedBy(cert, root)) out.push([...path, root]);
  }
  if (path.length < MAX_INTERMEDIATES) {
    for (const ca of msp.intermediates) {
      if (out.length >= MAX_CHAINS) break;
      if (ca === cert || path.includes(ca) || !issuedBy(cert, ca)) continue;
      findChains(ca, msp, [...path, ca], out);
    }
  }
  return out;
}

/**
 * Name (and key identifier) match is not enough: the issuer's key must have signed `cert`.
 * Issuers are roots and intermediates, which the constructor already required to be CAs.
 */
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  if (!cert.checkIssued(issuer)) return false;
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function parseCaCerts(entries: (string | Buffer)[], what: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const [i, entry] of entries.entries()) {
    let blocks: { der: Buffer }[];
    try {
      blocks = decodeCertificateBundle(entry);
    } catch (err) {
      throw new IdentityError(`${what} #${i + 1} is unusable: ${messageOf(err)}`, { cause: err });
    }
    for (const { der } of blocks) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(der);
      } catch (err) {
        throw new IdentityError(`${what} #${i + 1} is not a valid X.509 certificate: ${messageOf(err)}`, {
          cause: err,
        });
      }
      if (!cert.ca) throw new IdentityError(`${what} "${oneLine(cert.subject)}" is not a CA certificate`);
      out.push(cert);
    }
  }
  return out;
}

function timeProblem(cert: X509Certificate, now: Date, what: string): string | undefined {
  const { notBefore, notAfter } = validity(cert);
  const name = `${what} "${oneLine(cert.subject)}"`;
  if (now.getTime() < notBefore.getTime()) {
    return `${name} is not valid before ${notBefore.toISOString()} (now ${now.toISOString()})`;
  }
  if (now.getTime() > notAfter.getTime()) return `${name} expired on ${notAfter.toISOString()} (now ${now.toISOString()})`;
  return undefined;
}

const validities = new WeakMap<X509Certificate, { notBefore: Date; notAfter: Date }>();

function validity(cert: X509Certificate): { notBefore: Date; notAfter: Date } {
  let v = validities.get(cert);
  if (v === undefined) {
    v = { notBefore: parseX509Time(cert.validFrom), notAfter: parseX509Time(cert.validTo) };
    validities.set(cert, v);
  }
  return v;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parses OpenSSL's printed time ("Nov 22 15:16:00 2036 GMT"); Node 20 has no Date accessor. */
function parseX509Time(text: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4}) GMT$/.exec(text);
  const month = m === null ? -1 : MONTHS.indexOf(m[1]!);
  if (m === null || month < 0) throw new IdentityError(`cannot read the certificate time "${text}"`);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
