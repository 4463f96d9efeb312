/**
 * A minimal Reflect metadata API (getMetadata/getOwnMetadata/defineMetadata, plus the has*
 * and `metadata` decorator companions), installed only when no polyfill is present.
 *
 * Why: @peculiar/x509 wires its algorithm providers through tsyringe, which refuses to load
 * unless `Reflect.getMetadata` exists, and the project ships no reflect polyfill (and adds no
 * dependencies). x509 itself stores no metadata — tsyringe only looks up constructor
 * parameter types, which x509's providers do not have — so this small store is sufficient.
 * A real polyfill (reflect-metadata, core-js) loaded earlier takes precedence.
 *
 * Import it for its side effect before @peculiar/x509; lib/certs/x509.ts does.
 */

type PropertyKey = string | symbol | undefined;
type Decorator = (target: object, propertyKey?: string | symbol) => void;

interface ReflectMetadataApi {
  defineMetadata(metadataKey: unknown, value: unknown, target: object, propertyKey?: PropertyKey): void;
  getOwnMetadata(metadataKey: unknown, target: object, propertyKey?: PropertyKey): unknown;
  hasOwnMetadata(metadataKey: unknown, target: object, propertyKey?: PropertyKey): boolean;
  getMetadata(metadataKey: unknown, target: object, propertyKey?: PropertyKey): unknown;
  hasMetadata(metadataKey: unknown, target: object, propertyKey?: PropertyKey): boolean;
  metadata(metadataKey: unknown, value: unknown): Decorator;
}

// Weakly keyed, so metadata never keeps a class alive.
const store = new WeakMap<object, Map<PropertyKey, Map<unknown, unknown>>>();

function entries(target: object, propertyKey: PropertyKey, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let byKey = byProperty.get(propertyKey);
  if (!byKey && create) {
    byKey = new Map();
    byProperty.set(propertyKey, byKey);
  }
  return byKey;
}

/** Walks the prototype chain, which is how subclasses inherit their parents' metadata. */
function* chain(target: object): Generator<object> {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    yield o;
  }
}

const api: ReflectMetadataApi = {
  defineMetadata(metadataKey, value, target, propertyKey) {
    entries(target, propertyKey, true)!.set(metadataKey, value);
  },
  getOwnMetadata(metadataKey, target, propertyKey) {
    return entries(target, propertyKey, false)?.get(metadataKey);
  },
  hasOwnMetadata(metadataKey, target, propertyKey) {
    return entries(target, propertyKey, false)?.has(metadataKey) ?? false;
  },
  getMetadata(metadataKey, target, propertyKey) {
    for (const o of chain(target)) {
      const own = entries(o, propertyKey, false);
      if (own?.has(metadataKey)) return own.get(metadataKey);
    }
    return undefined;
  },
  hasMetadata(metadataKey, target, propertyKey) {
    for (const o of chain(target)) {
      if (entries(o, propertyKey, false)?.has(metadataKey)) return true;
    }
    return false;
  },
  metadata(metadataKey, value) {
    return (target, propertyKey) => api.defineMetadata(metadataKey, value, target, propertyKey);
  },
};

const reflect = Reflect as unknown as Partial<ReflectMetadataApi>;
if (typeof reflect.getMetadata !== 'function') {
  Object.assign(reflect, api);
}

