import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SignatureError } from '../errors.js';

/**
 * The worker's program (evaluated as CommonJS, so that it needs no file beside the compiled
 * one and runs the same under tsx and from dist/). Each batch is one buffer of signed bytes and
 * signatures plus a table of (key, data offset, data length, signature offset, signature
 * length); the answer is one byte per item: 1 verified, 0 did not verify, 2 could not be checked.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
let keys = new Map();
parentPort.on('message', (batch) => {
  if (batch.reset) keys = new Map();
  for (const [id, key] of batch.keys) keys.set(id, { key, dsaEncoding: 'der' });
  const bytes = new Uint8Array(batch.bytes);
  const table = batch.table;
  const results = new Uint8Array(table.length / 5);
  for (let i = 0, t = 0; i < results.length; i++, t += 5) {
    try {
      const data = bytes.subarray(table[t + 1], table[t + 1] + table[t + 2]);
      const signature = bytes.subarray(table[t + 3], table[t + 3] + table[t + 4]);
      results[i] = verify('sha256', data, keys.get(table[t]), signature) ? 1 : 0;
    } catch {
      results[i] = 2;
    }
  }
  parentPort.postMessage({ id: batch.id, results }, [results.buffer]);
});
`;

/** Most signatures in one batch. */
const MAX_BATCH = 64;
/** Batches sent to the worker and not answered yet: one being verified, one waiting. */
const MAX_BATCHES_IN_FLIGHT = 2;
/** Keys the worker holds before both sides start over (origins churn over a long life). */
const MAX_KEYS = 1_024;

interface Item {
  readonly key: KeyObject;
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
  readonly done: (err?: Error) => void;
}

/**
 * ECDSA signature verification on a worker thread, in batches: for a receiver that checks a
 * signature on every message. Node's async crypto.verify costs the event loop about a tenth of
 * the verification itself per call (a crypto job, its copies, its completion); here the event
 * loop copies each message's bytes into a batch, and one message to the worker and one answer
 * carry up to 64 verifications.
 *
 * Only the ECDSA math moves: callers run checkSignatureForm (Fabric's rules) first, on their
 * thread. The worker starts at the first verification and keeps the process alive only while it
 * has verifications to answer; close() ends it. If it fails, what it held and everything after is verified on the
 * calling thread instead: never lost, only slower.
 */
export class BatchVerifier {
  private worker: Worker | undefined;
  private broken = false;
  private closed = false;
  private queue: Item[] = [];
  private readonly inFlight = new Map<number, Item[]>();
  private nextBatch = 0;
  private flushScheduled = false;
  private readonly keyIds = new Map<KeyObject, number>();
  private newKeys: Array<[number, KeyObject]> = [];
  private resetKeys = false;

  /** Verifications queued or in progress. */
  get pending(): number {
    let n = this.queue.length;
    for (const batch of this.inFlight.values()) n += batch.length;
    return n;
  }

  /**
   * Checks that `signature` (DER) by `key` verifies over SHA-256 of `data`; calls `done` once,
   * later, without an error if it does, with a SignatureError if not. Never called after close().
   * `data` and `signature` are read later (copied into the next batch): they must not change
   * meanwhile (a received message's bytes never do).
   */
  verify(key: KeyObject, data: Uint8Array, signature: Uint8Array, done: (err?: Error) => void): void {
    if (this.closed) return;
    const item: Item = { key, data, signature, done };
    if (this.broken) {
      queueMicrotask(() => this.verifyHere(item));
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= MAX_BATCH && this.inFlight.size < MAX_BATCHES_IN_FLIGHT) this.flush();
    else if (!this.flushScheduled) {
      // After the I/O callbacks of this turn: every message read meanwhile joins the batch.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.inFlight.size < MAX_BATCHES_IN_FLIGHT) this.flush();
      });
    }
  }

  /** Ends the worker; callbacks of verifications not finished are never called. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.inFlight.clear();
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  private flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const worker = this.started();
    if (worker === undefined) {
      const items = this.queue;
      this.queue = [];
      for (const item of items) this.verifyHere(item);
      return;
    }
    const items = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
    this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
    if (this.keyIds.size + items.length > MAX_KEYS) {
      // Origins churn over a long life: start a new table. Batches already sent carry ids of
      // the old one; the worker starts over when it reaches this batch, after answering them.
      this.keyIds.clear();
      this.newKeys = [];
      this.resetKeys = true;
    }
    let size = 0;
    for (const item of items) size += item.data.length + item.signature.length;
    const bytes = new Uint8Array(size);
    const table = new Int32Array(items.length * 5);
    let at = 0;
    for (let i = 0, t = 0; i < items.length; i++, t += 5) {
      const { key, data, signature } = items[i]!;
      table[t] = this.keyId(key);
      bytes.set(data, at);
      table[t + 1] = at;
      table[t + 2] = data.length;
      at += data.length;
      bytes.set(signature, at);
      table[t + 3] = at;
      table[t + 4] = signature.length;
      at += signature.length;
    }
    const id = this.nextBatch++;
    // Referenced while it has work, as a pending crypto job would be; idle, it holds nothing.
    if (this.inFlight.size === 0) worker.ref();
    this.inFlight.set(id, items);
    worker.postMessage({ id, reset: this.resetKeys, keys: this.newKeys, bytes: bytes.buffer, table }, [bytes.buffer, table.buffer]);
    this.newKeys = [];
    this.resetKeys = false;
  }

  private keyId(key: KeyObject): number {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = this.keyIds.size;
      this.keyIds.set(key, id);
      this.newKeys.push([id, key]);
    }
    return id;
  }

  private started(): Worker | undefined {
    if (this.worker !== undefined || this.broken) return this.worker;
    try {
      // No --import hooks of the parent (e.g. tsx): the program is plain JavaScript.
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      worker.on('message', (answer: { id: number; results: Uint8Array }) => this.answered(answer));
      worker.on('error', () => this.fail());
      worker.on('exit', () => this.fail());
      // Unreferenced until it has work (after the listeners: a 'message' listener refs it).
      worker.unref();
      this.worker = worker;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private answered({ id, results }: { id: number; results: Uint8Array }): void {
    const items = this.inFlight.get(id);
    if (items === undefined) return;
    this.inFlight.delete(id);
    if (this.inFlight.size === 0) this.worker?.unref();
    for (let i = 0; i < items.length; i++) {
      const result = results[i];
      const item = items[i]!;
      if (result === 1) item.done();
      else if (result === 0) item.done(new SignatureError('signature does not verify'));
      else this.verifyHere(item); // the worker could not say why: ask here, for the typed error
    }
    if (this.queue.length > 0 && this.inFlight.size < MAX_BATCHES_IN_FLIGHT) this.flush();
  }

  /** The worker is gone without close(): verify what it held, and from now on, here. */
  private fail(): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.worker = undefined;
    const held = [...this.inFlight.values()].flat().concat(this.queue);
    this.inFlight.clear();
    this.queue = [];
    for (const item of held) this.verifyHere(item);
  }

  private verifyHere(item: Item): void {
    if (this.closed) return;
    let ok: boolean;
    try {
      ok = cryptoVerify('sha256', item.data, { key: item.key, dsaEncoding: 'der' }, item.signature);
    } catch (err: unknown) {
      item.done(new SignatureError(`signature could not be checked: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    item.done(ok ? undefined : new SignatureError('signature does not verify'));
  }
}
