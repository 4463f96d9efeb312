// Run by spec/identity/batch-verifier.spec.ts in its own process: verifies signatures with a
// BatchVerifier it never closes, with nothing else keeping the process alive. The answers must
// come (the worker holds the process while it has work), then the process must exit on its own
// (an idle worker holds nothing).
import { generateKeyPairSync } from 'node:crypto';
import { BatchVerifier } from '../../lib/identity/batch-verifier.js';
import { createSigner } from '../../lib/identity/signer.js';

const signer = createSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const verifier = new BatchVerifier();
const data = Buffer.from('verified before the process exits');
const signature = signer.sign(data);
let answered = 0;
for (let i = 0; i < 100; i++) {
  verifier.verify(signer.publicKey, data, signature, (err) => {
    if (err) throw err;
    if (++answered === 100) process.stdout.write('all verified\n');
  });
}
