import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchSync } from '../../../src/cli/syncProgress.js';
import type { SyncProgressView } from '../../../src/node/syncCoordinator.js';

const view = (p: Partial<SyncProgressView>): SyncProgressView => ({
  mode: 'snapshot', phase: 'downloading', targetHeight: 3000, unit: 'entries', current: 0, total: 1000, rate: 0, etaSeconds: null, startedAt: 0, ...p,
});

test('watchSync draws a bar per sync on a terminal (snapshot, then blocks) and nothing elsewhere', async () => {
  const out: string[] = [];
  let p: SyncProgressView | null = view({ current: 250 });
  const stop = watchSync(() => p, { isTTY: true, columns: 120, write: (t: string) => out.push(t) }, 5);
  await new Promise((r) => setTimeout(r, 30));
  p = view({ mode: 'blocks', unit: 'blocks', targetHeight: 3100, current: 3010, total: 3100 });
  await new Promise((r) => setTimeout(r, 30));
  p = null;
  await new Promise((r) => setTimeout(r, 30));
  stop();
  const text = out.join('');
  assert.match(text, /state sync to height 3000 \[#{6}\.+\] 25\.0% 250\/1000 entries/);
  assert.match(text, /block sync to height 3100 \[\.+\] 0\.0% 0\/90 blocks/);
  const plain: string[] = [];
  watchSync(() => view({}), { isTTY: false, write: (t: string) => plain.push(t) }, 5)();
  assert.deepEqual(plain, []);
});
