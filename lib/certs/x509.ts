// The single entry to @peculiar/x509 for lib/certs. @peculiar/x509 resolves its ASN.1 providers
// through tsyringe, which needs the Reflect metadata API; ES modules evaluate imports in order,
// so the polyfill is loaded before x509 whichever lib/certs module a caller imports first.
import 'reflect-metadata';

export * from '@peculiar/x509';
