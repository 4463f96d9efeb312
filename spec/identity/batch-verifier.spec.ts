// BatchVerifier: ECDSA verification on a worker thread, in batches, with real keys.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureError } from '../../lib/errors.js';
import { BatchVerifier } from '../../lib/identity/batch-verifier.js';
import { createSigner, type Signer } from '../../lib/identity/signer.js';
import { activeResources, expectNoLeaks, sleep } from '../gossip/cluster.js';
import { runChild } from '../helpers/run-child.js';

const newSigner = (): Signer => createSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

/** Verifies every case and resolves with each outcome ('ok' or the error's name), in case order. */
function verifyAll(
  verifier: BatchVerifier,
  cases: ReadonlyArray<{ key: KeyObject; data: Uint8Array; signature: Uint8Array }>,
): Promise<string[]> {
  return new Promise((resolve) => {
    const out: string[] = new Array<string>(cases.length);
    let left = cases.length;
    cases.forEach(({ key, data, signature }, i) =>
      verifier.verify(key, data, signature, (err) => {
        assert.equal(out[i], undefined, `case ${i} answered twice`);
        out[i] = err ? err.name : 'ok';
        if (--left === 0) resolve(out);
      }),
    );
  });
}

describe('BatchVerifier', () => {
  it('answers each signature once, right or wrong, over many batches and keys', async () => {
    const baseline = activeResources();
    const signers = [newSigner(), newSigner(), newSigner()];
    const verifier = new BatchVerifier();
    const cases = Array.from({ length: 300 }, (_, i) => {
      const signer = signers[i % 3]!;
      const data = randomBytes(50 + (i % 200));
      const signature = signer.sign(data);
      // Every 7th is checked against another key, every 11th over other bytes: both must fail.
      const key = i % 7 === 0 ? signers[(i + 1) % 3]!.publicKey : signer.publicKey;
      return { key, data: i % 11 === 0 ? randomBytes(data.length) : data, signature, good: i % 7 !== 0 && i % 11 !== 0 };
    });
    const outcomes = await verifyAll(verifier, cases);
    assert.deepEqual(outcomes, cases.map((c) => (c.good ? 'ok' : SignatureError.name)));
    assert.equal(verifier.pending, 0);
    verifier.close();
    await expectNoLeaks(baseline);
  });

  it('starts over its key table past 1,024 keys, without mixing keys up', async () => {
    const verifier = new BatchVerifier();
    const data = Buffer.from('one message, many signers');
    const cases = Array.from({ length: 1_100 }, () => {
      const signer = newSigner();
      return { key: signer.publicKey, data, signature: signer.sign(data) };
    });
    // The same keys again after the table started over, and one key against another's signature.
    cases.push(...cases.slice(0, 70), { ...cases[5]!, key: cases[6]!.key });
    const outcomes = await verifyAll(verifier, cases);
    assert.deepEqual(outcomes.slice(0, -1), cases.slice(0, -1).map(() => 'ok'));
    assert.equal(outcomes.at(-1), SignatureError.name);
    verifier.close();
  });

  it('when its worker dies, verifies what it held on the calling thread: nothing is lost', async () => {
    const signer = newSigner();
    const verifier = new BatchVerifier();
    const cases = Array.from({ length: 200 }, (_, i) => {
      const data = randomBytes(100);
      return { key: signer.publicKey, data, signature: signer.sign(i % 2 ? data : randomBytes(100)) };
    });
    const answered = verifyAll(verifier, cases);
    // Kill the worker with the batches in flight (a crash, as far as the verifier can tell).
    await sleep(0);
    const worker = (verifier as unknown as { worker?: { terminate(): Promise<number> } }).worker;
    assert.ok(worker, 'the worker started');
    await worker.terminate();
    assert.deepEqual(await answered, cases.map((_, i) => (i % 2 ? 'ok' : SignatureError.name)));
    // And later ones too.
    assert.deepEqual(await verifyAll(verifier, cases.slice(0, 2)), [SignatureError.name, 'ok']);
    verifier.close();
  });

  it('after close(), calls nothing back and lets the process go', async () => {
    const baseline = activeResources();
    const signer = newSigner();
    const verifier = new BatchVerifier();
    const data = randomBytes(10);
    let called = 0;
    for (let i = 0; i < 100; i++) verifier.verify(signer.publicKey, data, signer.sign(data), () => called++);
    await sleep(0);
    verifier.close();
    verifier.verify(signer.publicKey, data, signer.sign(data), () => called++);
    await sleep(100);
    assert.equal(called, 0);
    await expectNoLeaks(baseline);
  });

  it('holds the process while it has work, and not once idle (never closed)', async () => {
    const { exit, out, err } = await runChild('verifier-child.ts');
    assert.equal(exit, 0, `child exit ${exit}\n${err}`);
    assert.equal(out.trim(), 'all verified', 'the answers came before the process exited');
  });
});
