import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freeLoopbackPorts } from '../../../src/cli/ports.js';

test('freeLoopbackPorts: distinct ports below the ephemeral range, each bindable afterwards', async () => {
  const ports = await freeLoopbackPorts(6);
  assert.equal(new Set(ports).size, 6);
  for (const p of ports) {
    assert.ok(p >= 20_000 && p < 32_000, String(p));
    const s = createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(p, '127.0.0.1', resolve);
    });
    await new Promise((r) => s.close(r));
  }
});
