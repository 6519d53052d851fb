/**
 * `npm start` runs the node as npm's own child (the start script execs it, no
 * shell left in between), so the SIGTERM or SIGINT npm forwards reaches the
 * node, which shuts down instead of being left running.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDirs('fastpos-npm-start-');
const children: ChildProcess[] = [];
const extraPids: number[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of extraPids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** The process runs: it exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The direct children of `pid` (Linux: /proc/<pid>/task/<tid>/children). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The node process among `pid`'s descendants (a few levels). */
function findNode(pid: number, depth = 0): number | undefined {
  for (const c of childPids(pid)) {
    try {
      if (/dist\/cli\/main\.js\0start\0/.test(readFileSync(`/proc/${c}/cmdline`, 'utf8'))) return c;
    } catch {
      /* gone */
    }
    const deeper = depth < 3 ? findNode(c, depth + 1) : undefined;
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

describe('npm start and signals', () => {
  const variants = [
    { how: 'npm start', signal: 'SIGTERM', args: ['start', '--silent', '--'] },
    { how: 'npm start', signal: 'SIGINT', args: ['start', '--silent', '--'] },
    // What `npx fastpos start` runs: npm exec, with a shell between npm and the node that does not pass signals on.
    { how: 'npm exec (npx)', signal: 'SIGTERM', args: ['exec', '--silent', '--', 'node', 'dist/cli/main.js', 'start'] },
  ] as const;
  for (const { how, signal, args } of variants) {
    it(`${signal} to ${how} stops the node it started (no node left running)`, { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
      const dataDir = join(tmp(), 'chain');
      const made = runCli(['init', '--data-dir', dataDir, '--chain-id', 'npm-devnet']);
      assert.equal(made.status, 0, made.stderr);

      const npm = spawn('npm', [...args, '--data-dir', dataDir, '--port', '0', '--log-level', 'info'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(npm);
      const logs: string[] = [];
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      createInterface({ input: npm.stderr! }).on('line', (l) => logs.push(l));
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "API listening" within 30 s:\n${logs.join('\n')}`)), 30_000);
        void exited.then((code) => reject(new Error(`npm exited (${code}) before the node listened:\n${logs.join('\n')}`)));
        createInterface({ input: npm.stdout! }).on('line', (line) => {
          logs.push(line);
          try {
            const j = JSON.parse(line) as { msg?: string; url?: string };
            if (j.msg === 'API listening' && j.url !== undefined) {
              clearTimeout(t);
              resolve(j.url);
            }
          } catch {
            /* npm's own lines */
          }
        });
      });
      assert.ok(await answers(url));

      // Under npm start the node is npm's direct child (the start script execs it); under npm exec a shell may sit between.
      const node = findNode(npm.pid!);
      assert.ok(node !== undefined, 'npm runs the node');
      extraPids.push(node);
      if (how === 'npm start') assert.deepEqual(childPids(npm.pid!), [node], 'the node is npm\'s direct child');

      npm.kill(signal);
      await until('the node process ends', 20_000, () => !alive(node));
      await until('npm exits', 20_000, () => npm.exitCode !== null || npm.signalCode !== null);
      assert.equal(await answers(url), false, 'the port is closed');
      assert.ok(logs.some((l) => l.includes('"node stopped"')), `the node shut down in order:\n${logs.join('\n')}`);
    });
  }
});
