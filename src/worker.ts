/**
 * Starts a worker thread from a module next to the caller, both from the
 * compiled build (`.js`) and from TypeScript sources run through tsx (tests):
 * on Node 20 a loader registered with `--import` does not reach worker
 * threads, so the worker registers tsx itself before importing its module.
 */
import { writeFileSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const here = new URL(callerUrl);
  if (!here.pathname.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, here), options);
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/**
 * Names the calling thread (Linux: `/proc/thread-self/comm`, at most 15
 * characters) so that `top -H`, `ps -L` and the bench can tell the node's
 * threads apart. Does nothing where that file does not exist.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // Not Linux, or /proc not mounted: the thread keeps its name.
  }
}
