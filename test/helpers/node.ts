/** Starts a real node (real SQLite or snapshot files in a temp dir, real HTTP on 127.0.0.1) inside the test process. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Envelope } from '../../src/codec/envelope.js';
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/config/index.js';
import { devValidator } from '../../src/crypto/keys.js';
import { runNode, type RunningNode } from '../../src/node/run.js';
import { encodeGenesis } from '../../src/state/genesis.js';
import type { Genesis } from '../../src/types/index.js';

/** Fatal errors of embedded test nodes (a node that failed for good is closed; the test sees it here, the runner does not exit). */
export const fatalErrors: unknown[] = [];

export interface TestNode extends RunningNode {
  readonly dir: string;
  /** Stops the node and removes its data dir. */
  dispose(): Promise<void>;
}

export async function startTestNode(opts: { config?: Partial<NodeConfig>; genesis?: Genesis; dir?: string } = {}): Promise<TestNode> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'fastpos-test-'));
  if (opts.genesis !== undefined) writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(opts.genesis)));
  const config: NodeConfig = { ...DEFAULT_CONFIG, dataDir: dir, port: 0, verifyWorkers: 0, idleBlockIntervalMs: 200, minBlockIntervalMs: 5, ...opts.config };
  const running = await runNode(config, { logger: pino({ level: 'silent' }), onFatal: (e) => fatalErrors.push(e) });
  return {
    ...running,
    dir,
    dispose: async () => {
      await running.close();
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when the node has finalized a block at or above `height`. */
export function waitForHeight(n: RunningNode, height: number, timeoutMs = 10_000): Promise<void> {
  if (n.node.height >= height) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      n.node.off('finalized', on);
      reject(new Error(`height ${height} not reached in ${timeoutMs} ms (at ${n.node.height})`));
    }, timeoutMs);
    const on = (): void => {
      if (n.node.height >= height) {
        clearTimeout(t);
        n.node.off('finalized', on);
        resolve();
      }
    };
    n.node.on('finalized', on);
  });
}

/**
 * A real node in this process holding one dev validator key of `genesis`, whose
 * outgoing consensus envelopes go to `sent` (it believes it has peers).
 * Long timeouts by default: what it signs is its verdict on what it is sent.
 */
export async function startValidatorNode(opts: { genesis: Genesis; index: number; sent?: Envelope[]; config?: Partial<NodeConfig> }): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-validator-'));
  writeFileSync(join(dir, 'validator_key.json'), JSON.stringify({ privateKey: devValidator(opts.index).privateKey }), { mode: 0o600 });
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(opts.genesis)));
  const sent = opts.sent ?? [];
  const config: NodeConfig = { ...DEFAULT_CONFIG, dataDir: dir, port: 0, verifyWorkers: 0, timeoutProposeMs: 60_000, allowDevKeys: true, ...opts.config };
  const running = await runNode(config, {
    logger: pino({ level: 'silent' }),
    onFatal: (e) => fatalErrors.push(e),
    wrapTransport: () => ({ hasPeers: () => true, broadcast: (e: Envelope) => void sent.push(e) }),
  });
  return {
    ...running,
    dir,
    dispose: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
