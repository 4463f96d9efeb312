/** The identity layer: signing, serialized identities and PKI-IDs, MSP validation, the identity mapper, peer directories. */
export * from './batch-verifier.js';
export * from './identity-mapper.js';
export * from './msp.js';
export * from './peer-dir.js';
export * from './pem.js';
export * from './serialized-identity.js';
export * from './signer.js';
