import { IdentityError } from '../errors.js';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /[ \t\r\n]/g;

/**
 * Decodes an identity's `id_bytes`: exactly one PEM `CERTIFICATE` block and nothing else.
 *
 * The PKI-ID is a hash over these bytes, so any slack (a second newline after the END line,
 * leading text, a second block, DER followed by junk) would let one certificate stand for many
 * PKI-IDs; Fabric refuses trailing bytes ("has trailing bytes") for that reason. What is accepted
 * is what Go's `pem.Decode` consumes with nothing left over: CRLF or LF line endings, trailing
 * spaces or tabs on the END line, and at most one line ending after it (or none).
 * Leading bytes before BEGIN, which Go would skip, are refused too: no real identity has them.
 *
 * Returns the certificate's DER. Throws IdentityError naming what is wrong.
 */
export function decodeCertificatePem(bytes: Uint8Array): Buffer {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!text.startsWith(BEGIN)) {
    throw new IdentityError('not a PEM certificate: it does not start with "' + BEGIN + '"');
  }
  const block = readBlock(text, 0);
  if (block === undefined) {
    throw new IdentityError('not a PEM certificate: no "' + END + '" line');
  }
  if (block.next !== text.length) {
    throw new IdentityError(
      `has trailing bytes: ${text.length - block.next} byte(s) after the PEM END line`,
    );
  }
  return block.der;
}

/**
 * Decodes trust material (CA bundles): one or more PEM `CERTIFICATE` blocks, separated by
 * whitespace only, or a single DER certificate. Unlike identities, the exact bytes of trust
 * material are never hashed, so a file with blank lines between certificates is fine.
 *
 * Returns each certificate's DER and its PEM text as it appeared. Throws IdentityError when the
 * input holds no certificate or anything other than certificates.
 */
export function decodeCertificateBundle(input: string | Uint8Array): { der: Buffer; pem: Buffer }[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.from(input);
  const text = bytes.toString('latin1');
  const start = text.search(/\S/);
  if (start < 0) throw new IdentityError('no certificate: the input is empty');
  if (!text.startsWith(BEGIN, start)) {
    // Not PEM: accept one bare DER certificate, as CA lists built in code sometimes hold.
    if (bytes[0] === 0x30 && derLength(bytes) === bytes.length) return [{ der: bytes, pem: encodeCertificatePem(bytes) }];
    throw new IdentityError('not a PEM certificate: it does not start with "' + BEGIN + '"');
  }
  const out: { der: Buffer; pem: Buffer }[] = [];
  let pos = start;
  while (pos < text.length) {
    const block = readBlock(text, pos);
    if (block === undefined) throw new IdentityError(`not a PEM certificate: no "${END}" line after offset ${pos}`);
    out.push({ der: block.der, pem: Buffer.from(text.slice(pos, block.next), 'latin1') });
    const rest = text.slice(block.next);
    const skip = rest.search(/\S/);
    if (skip < 0) break;
    if (!rest.startsWith(BEGIN, skip)) {
      throw new IdentityError(`unexpected bytes after certificate ${out.length}: only PEM certificates may follow`);
    }
    pos = block.next + skip;
  }
  return out;
}

/** Encodes DER as PEM the way Go's `pem.EncodeToMemory` (and so Fabric) does: 64-column lines, LF endings. */
export function encodeCertificatePem(der: Uint8Array): Buffer {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = [BEGIN];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(END, '');
  return Buffer.from(lines.join('\n'), 'latin1');
}

/**
 * Reads one block starting at `pos` (which must hold BEGIN). Returns the DER and the offset just
 * past the END line and its single line ending, or undefined when there is no END line.
 * Throws IdentityError for a malformed body.
 */
function readBlock(text: string, pos: number): { der: Buffer; next: number } | undefined {
  let bodyStart = pos + BEGIN.length;
  const afterBegin = /^[ \t]*\r?\n/.exec(text.slice(bodyStart, bodyStart + 64));
  if (afterBegin === null) throw new IdentityError('malformed PEM: the BEGIN line does not end after "' + BEGIN + '"');
  bodyStart += afterBegin[0].length;
  // Go requires the END marker at the start of a line; so do we.
  const endAt = text.indexOf('\n' + END, bodyStart - 1);
  if (endAt < 0) return undefined;
  const body = text.slice(bodyStart, endAt + 1).replace(WHITESPACE, '');
  if (!BASE64_BODY.test(body) || body.length % 4 !== 0 || body.length === 0) {
    throw new IdentityError('malformed PEM: the body is not valid base64 (headers are not allowed in a certificate)');
  }
  // An allocation of its own rather than a slice of Buffer's shared pool: a validated identity
  // keeps its DER, and a handshake's worth of pool slices would spread longer-lived slices of
  // others (grpc-js, TLS) over more 8 KiB slabs that they then pin.
  const der = Buffer.allocUnsafeSlow(Buffer.byteLength(body, 'base64'));
  der.write(body, 'base64');
  const declared = derLength(der);
  if (declared !== der.length) {
    throw new IdentityError(
      declared === undefined
        ? 'malformed certificate: the PEM body is not a DER SEQUENCE'
        : `malformed certificate: ${der.length - declared} byte(s) of trailing data after the DER certificate`,
    );
  }
  let next = endAt + 1 + END.length;
  const eol = /^[ \t\r]*(\n|$)/.exec(text.slice(next, next + 64));
  if (eol === null) throw new IdentityError('malformed PEM: unexpected text on the END line');
  next += eol[0].length;
  return { der, next };
}

/**
 * Total length (header + content) of the DER SEQUENCE at the start of `der`, or undefined when it
 * does not start with one. A certificate is a single SEQUENCE; comparing this with the buffer
 * length catches trailing data, which Node's X509Certificate would silently ignore.
 */
export function derLength(der: Uint8Array): number | undefined {
  if (der.length < 2 || der[0] !== 0x30) return undefined;
  const first = der[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
  // Strict DER: long form only when needed, no leading zero byte.
  if (len < 0x80 || der[2] === 0) return undefined;
  return 2 + n + len;
}
