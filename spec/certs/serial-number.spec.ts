// Serial numbers: always 16 bytes as a minimal positive DER INTEGER (no 0x00 dropped, none
// prepended), so every generated certificate has the shape of the vectors whatever the draw.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomSerialNumber } from '../../lib/certs/serial-number.js';

it('draws 16-byte serials whose first byte is 0x01..0x7f, all different', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const hex = randomSerialNumber();
    assert.match(hex, /^[0-9a-f]{32}$/);
    const first = parseInt(hex.slice(0, 2), 16);
    assert.ok(first >= 0x01 && first <= 0x7f, `first byte ${hex.slice(0, 2)}`);
    seen.add(hex);
  }
  assert.equal(seen.size, 20_000);
});
