/**
 * `fastpos start` on a terminal: a progress bar on stderr while the node
 * syncs (state entries of a snapshot, or blocks), from the node's own sync
 * progress. Nothing when stderr is not a terminal: the log lines
 * (`snapshot sync progress`, `block sync progress`) say the same there.
 * @module
 */
import type { SyncProgressView } from '../node/syncCoordinator.js';
import { Progress, type ProgressStream } from './progress.js';

/** Polls `progress` and draws a bar per sync; returns a function that stops watching. */
export function watchSync(progress: () => SyncProgressView | null, stream: ProgressStream = process.stderr, everyMs = 250): () => void {
  if (stream.isTTY !== true) return () => undefined;
  let bar: { key: string; base: number; progress: Progress } | null = null;
  const tick = (): void => {
    const p = progress();
    const key = p === null ? '' : `${p.mode}/${p.targetHeight}/${p.total}`;
    if (bar !== null && bar.key !== key) {
      bar.progress.finish();
      bar = null;
    }
    if (p === null) return;
    if (bar === null) {
      const base = p.mode === 'blocks' ? p.current : 0;
      const label = p.mode === 'snapshot' ? `state sync to height ${p.targetHeight}` : `block sync to height ${p.targetHeight}`;
      bar = { key, base, progress: new Progress({ label, total: p.total - base, unit: p.unit, stream }) };
    }
    bar.progress.update(Math.max(0, p.current - bar.base));
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    bar?.progress.finish();
  };
}
