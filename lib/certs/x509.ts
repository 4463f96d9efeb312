// The single entry to @peculiar/x509 for lib/certs. ES modules evaluate their imports in
// order, so importing the polyfill first guarantees tsyringe finds Reflect metadata when
// x509 loads, whichever lib/certs module a caller happens to import first.
import './reflect-metadata.js';

export * from '@peculiar/x509';
