/** Real `fastpos` child processes over loopback HTTP, for end-to-end tests. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface NodeProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly logs: string[];
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `fastpos start` and resolves once its API listens (port 0: the OS picks a free port).
 * `--init`: a fresh temp dir may start a new chain (without it a dir holding no chain is refused).
 */
export function spawnNode(dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [CLI, 'start', '--data-dir', dataDir, '--init', '--port', '0', '--log-level', 'info', ...extra], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  createInterface({ input: proc.stderr! }).on('line', (l) => logs.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`node did not start in 20 s:\n${logs.join('\n')}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening:\n${logs.join('\n')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'API listening' && j.url !== undefined) {
          clearTimeout(timer);
          const url = j.url;
          resolve({
            proc,
            url,
            logs,
            exited,
            kill: (signal = 'SIGTERM') => {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
              return exited;
            },
          });
        }
      } catch {
        /* not a log line */
      }
    });
  });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
