/**
 * What the benchmark measures of the machine and of the node processes' CPU:
 * the one-core Ed25519 verify rate every figure is compared with, and the CPU
 * seconds of each process and of each of its thread groups (the main thread,
 * the threads the node names, the rest), read from /proc.
 * @module
 */
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

/** The `machine:` line every scenario prints first. */
export function machineLine(): string {
  return `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`;
}

/** node:crypto Ed25519 verifications per second on this thread, public key object reused. */
export function measureVerifyRate(ms = 2000): number {
  const { publicKey: pub, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(300, 7);
  const sig = cryptoSign(null, msg, privateKey);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) cryptoVerify(null, msg, pub, sig);
    n += 200;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Thread groups of a node process: the main thread, and the threads the node names (src/worker.ts nameThread). */
export const THREAD_GROUPS = [
  ['main', 'main thread'],
  ['fastpos-verify', 'signature workers'],
  ['fastpos-sqlite', 'SQLite writer'],
  ['fastpos-files', 'guard file writer'],
  ['other', 'other (V8 GC and compiler, libuv)'],
] as const;

/** CPU seconds so far of each thread group of a process (threads that ended are not counted). */
export function threadGroupCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const group = tid === String(pid) ? 'main' : THREAD_GROUPS.some(([g]) => g === comm) ? comm : 'other';
      out.set(group, (out.get(group) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** Sum over processes of the thread-group CPU seconds. */
export function allThreadGroups(pids: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) for (const [g, v] of threadGroupCpuSeconds(pid)) out.set(g, (out.get(g) ?? 0) + v);
  return out;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The value at percentile `p` of an ascending list (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
