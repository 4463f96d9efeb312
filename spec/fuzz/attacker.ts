// The fuzzing client process, forked by spec/fuzz/target.ts with an IPC channel: raw grpc-js and
// node:http2 clients presenting fixture peer1's TLS pair. Receives {id, c: FuzzCase}, runs the
// case against the server at argv[2], answers {id, outcome}. Exits when the parent goes away.
import { fixturePeer } from '../helpers/peers.js';
import type { FuzzCase } from './arbitraries.js';
import { Attacker } from './target.js';

const [endpoint, waitMs] = process.argv.slice(2);
const attacker = new Attacker(endpoint!, await fixturePeer('peer1'), Number(waitMs ?? 250));

// Advanced serialization hands Buffers over as plain Uint8Arrays.
function revive(c: FuzzCase): FuzzCase {
  if (c.kind === 'frames') return { ...c, body: Buffer.from(c.body) };
  return { ...c, messages: c.messages.map((m) => Buffer.from(m)) };
}

process.on('message', (m: { id: number; c: FuzzCase }) => {
  void attacker.run(revive(m.c)).then(
    (outcome) => process.send!({ id: m.id, outcome }),
    (err: unknown) => process.send!({ id: m.id, outcome: { serverEnded: false, error: String(err) } }),
  );
});
process.on('disconnect', () => {
  attacker.close();
  process.exit(0);
});
process.send!({ ready: true });
