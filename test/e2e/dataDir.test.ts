/**
 * The data dir as `fastpos start` processes see it: one process per data dir
 * (an OS lock that dies with its process), the double-sign guard file that
 * must not silently go missing, and a guard write that fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-datadir-');
const GUARD = 'priv_validator_state.json';

interface Finished {
  /** Exit code; null if it had to be killed after `timeoutMs`. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI until it exits (killed after `timeoutMs`: a start that should have been refused may run on). */
function runToExit(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<Finished> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function latestHeight(node: NodeProcess): Promise<number> {
  const s = (await (await fetch(`${node.url}/status`)).json()) as { latestHeight: number };
  return s.latestHeight;
}

async function waitForHeight(node: NodeProcess, height: number, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const h = await latestHeight(node);
    if (h >= height) return h;
    if (Date.now() > until) assert.fail(`height ${height} not reached in ${timeoutMs} ms (at ${h})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Log lines (JSON) of a finished or running process. */
function logLines(lines: readonly string[]): { level?: number; msg?: string; err?: { message?: string } }[] {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as { level?: number; msg?: string; err?: { message?: string } }];
    } catch {
      return [];
    }
  });
}

describe('one process per data dir', () => {
  it('error: a second start on a data dir in use exits non-zero naming the holder pid, before it opens the store or binds a port; after kill -9 of the holder a start succeeds', async () => {
    const dir = tmp();
    const first = await spawnNode(dir, ['--idle-block-interval-ms', '100']);
    let reached: number;
    try {
      await waitForHeight(first, 1);
      const second = await runToExit(['start', '--data-dir', dir, '--port', '0', '--log-level', 'info', '--idle-block-interval-ms', '100'], 15_000);
      assert.notEqual(second.code, null, `the second process was still running after 15 s:\n${second.stdout}`);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, new RegExp(`pid ${first.proc.pid}\\b`), second.stderr);
      assert.match(second.stderr, /INVALID_CONFIG/);
      const msgs = logLines(second.stdout.split('\n')).map((l) => l.msg);
      for (const m of ['API listening', 'node started', 'loaded chain from store', 'initialized a new chain from genesis']) {
        assert.ok(!msgs.includes(m), `the second process logged "${m}"`);
      }
      // The holder is untouched: it goes on finalizing blocks.
      reached = await waitForHeight(first, (await latestHeight(first)) + 2);
    } finally {
      await first.kill('SIGKILL');
    }
    // kill -9 left no stale lock behind.
    const third = await spawnNode(dir, ['--idle-block-interval-ms', '100']);
    try {
      assert.ok((await latestHeight(third)) >= reached);
      await waitForHeight(third, reached + 1);
    } finally {
      await third.kill();
    }
  });
});

describe('the double-sign guard file', () => {
  it('error: a validator whose guard file is missing beside chain data is refused, naming the file and the fix; --reset-sign-guard starts it', async () => {
    const dir = tmp();
    const node = await spawnNode(dir, ['--idle-block-interval-ms', '100']);
    const reached = await waitForHeight(node, 2);
    await node.kill('SIGTERM');
    rmSync(join(dir, GUARD), { force: true });
    const refused = await runToExit(['start', '--data-dir', dir, '--port', '0'], 15_000);
    assert.notEqual(refused.code, null, 'the node started without its guard record');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /CORRUPT_DATA/);
    assert.ok(refused.stderr.includes(join(dir, GUARD)), refused.stderr);
    assert.match(refused.stderr, /backup/);
    assert.match(refused.stderr, /--reset-sign-guard/);
    // The deliberate reset, once: then the file is there again and a plain start works.
    const reset = await spawnNode(dir, ['--reset-sign-guard', '--idle-block-interval-ms', '100']);
    try {
      await waitForHeight(reset, reached + 1);
      assert.ok(logLines(reset.logs).some((l) => l.level === 40 && l.msg?.includes('resetSignGuard') === true), 'the reset is logged as a warning');
    } finally {
      await reset.kill();
    }
    const plain = await spawnNode(dir);
    await plain.kill();
  });
});

describe('a failed guard write', () => {
  it('error: the validator process exits non-zero with a fatal log line naming the guard file', async () => {
    const dir = tmp();
    // A peer (that never answers) makes every vote wait for the guard's record before it is sent.
    const node = await spawnNode(dir, ['--peers', 'http://127.0.0.1:1', '--idle-block-interval-ms', '100']);
    await waitForHeight(node, 1);
    // Every later replacement of the guard file fails: a directory where the writer puts its temporary file (also as root).
    // The writer's own temporary file may be there for a moment (between its write and its rename): try again then.
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(join(dir, `${GUARD}.tmp`));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 200) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const code = await Promise.race([node.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 15_000))]);
    if (code === 'running') await node.kill('SIGKILL');
    assert.notEqual(code, 'running', 'the node kept running after its guard write failed');
    assert.notEqual(code, 0);
    const fatal = logLines(node.logs).filter((l) => l.level === 60);
    assert.ok(
      fatal.some((l) => l.err?.message?.includes(join(dir, GUARD)) === true),
      `no fatal line names the guard file:\n${node.logs.join('\n')}`,
    );
  });
});
