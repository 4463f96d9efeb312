// lib/proto is generated from schema/ by scripts/gen-proto.sh and never edited by hand: running
// the script again must reproduce it byte for byte.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

it('the committed lib/proto is exactly what scripts/gen-proto.sh generates from schema/', () => {
  const out = mkdtempSync(join(tmpdir(), 'rxgossip-proto-'));
  try {
    execFileSync('bash', [join(ROOT, 'scripts', 'gen-proto.sh'), out], { cwd: ROOT, stdio: 'pipe' });
    const committed = readdirSync(join(ROOT, 'lib', 'proto')).sort();
    assert.deepEqual(readdirSync(out).sort(), committed);
    for (const file of committed) {
      assert.ok(
        readFileSync(join(out, file)).equals(readFileSync(join(ROOT, 'lib', 'proto', file))),
        `lib/proto/${file} differs from the generated one: run npm run proto`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
