import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../lib/certs/reflect-metadata.js';

/** The slice of the Reflect metadata API tsyringe (and so @peculiar/x509) relies on. */
interface MetadataReflect {
  defineMetadata(key: unknown, value: unknown, target: object, property?: string | symbol): void;
  getMetadata(key: unknown, target: object, property?: string | symbol): unknown;
  getOwnMetadata(key: unknown, target: object, property?: string | symbol): unknown;
  hasMetadata(key: unknown, target: object, property?: string | symbol): boolean;
  metadata(key: unknown, value: unknown): (target: object, property?: string | symbol) => void;
}

const R = Reflect as unknown as MetadataReflect;

describe('reflect-metadata shim', () => {
  it('stores own metadata per target and property', () => {
    class A {}
    R.defineMetadata('k', 1, A);
    R.defineMetadata('k', 2, A, 'm');
    assert.equal(R.getOwnMetadata('k', A), 1);
    assert.equal(R.getOwnMetadata('k', A, 'm'), 2);
    assert.equal(R.getOwnMetadata('other', A), undefined);
    assert.equal(R.getOwnMetadata('k', class {}), undefined);
  });

  it('inherits through the prototype chain for getMetadata only', () => {
    class Parent {}
    class Child extends Parent {}
    R.metadata('design:paramtypes', [String])(Parent);
    assert.deepEqual(R.getMetadata('design:paramtypes', Child), [String]);
    assert.equal(R.hasMetadata('design:paramtypes', Child), true);
    assert.equal(R.getOwnMetadata('design:paramtypes', Child), undefined);
    R.defineMetadata('design:paramtypes', [Number], Child);
    assert.deepEqual(R.getMetadata('design:paramtypes', Child), [Number]);
    assert.deepEqual(R.getMetadata('design:paramtypes', Parent), [String]);
  });

  it('lets @peculiar/x509 load', async () => {
    const x509 = await import('../../lib/certs/x509.js');
    assert.equal(typeof x509.X509CertificateGenerator.create, 'function');
  });
});
