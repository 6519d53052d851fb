/**
 * `fastpos start`: runs a node. Before it starts, the data dir is checked: a
 * dir that does not exist, or holds nothing of a node (no chain store, no
 * genesis.json, config.yaml or keys), is refused (exit 2) — a typo in
 * `--data-dir` would otherwise start a fresh chain there — unless it is the
 * default devnet dir (`./.fastpos`), `--init` is given, or `--genesis-file`
 * names the chain a new node joins. A port in use is one line (exit 1). On
 * the built-in devnet, the API and explorer URLs and the dev accounts are
 * printed once the API listens.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { devAccount } from '../crypto/keys.js';
import { NODE_KEY_FILE } from '../node/keyFile.js';
import { hasChainData, runNode, type RunningNode } from '../node/run.js';
import { GUARD_FILE } from '../node/signGuardFile.js';
import { defaultDevnetGenesis, genesisHash } from '../state/genesis.js';
import { CliError, HelpRequested, wantsHelp } from './args.js';
import { amount, table } from './format.js';
import { DEFAULT_NODE_URL } from './env.js';
import { START_HELP } from './help.js';
import { watchSync } from './syncProgress.js';

/** Files that make a folder a node's data dir (besides the chain store's own files). */
const NODE_FILES = ['genesis.json', 'config.yaml', 'validator_key.json', 'account_key.json', NODE_KEY_FILE, GUARD_FILE] as const;

/** Whether `dir` holds a node's chain or its setup (genesis, config, keys). */
export function holdsNode(dir: string): boolean {
  return hasChainData(dir) || NODE_FILES.some((f) => existsSync(join(dir, f)));
}

function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : dir;
}

/**
 * Refuses a data dir that would silently start a new chain: see the module
 * comment for the rule.
 */
export function checkDataDir(config: NodeConfig, o: { init: boolean; defaultDir: string }): void {
  const dir = config.dataDir;
  if (o.init || config.genesisFile !== undefined || resolve(dir) === resolve(o.defaultDir)) return;
  const name = shown(dir);
  const fix = `create a chain there with \`fastpos init --data-dir ${name}\`, or pass --init to start a fresh devnet there`;
  if (!existsSync(dir)) throw new CliError(`data dir ${name} does not exist (typo?)`, fix, 2);
  if (!statSync(dir).isDirectory()) throw new CliError(`data dir ${name} is not a folder`, 'check --data-dir', 2);
  if (!holdsNode(dir)) throw new CliError(`data dir ${name} holds no chain (typo?)`, fix, 2);
}

/** The devnet banner: URLs, dev accounts and their keys, which are public. */
function devnetBanner(running: RunningNode): string {
  const rows = [];
  for (let i = 0; i < 10; i++) {
    const a = devAccount(i);
    rows.push([i, a.address, a.privateKey, amount(running.node.account(a.address).balance)]);
  }
  return [
    '',
    `fastpos devnet is running (chain fastpos-devnet)`,
    `  API       ${running.url}`,
    `  explorer  ${running.url}/explorer`,
    '',
    'Dev accounts (WARNING: these private keys are PUBLIC, for development only; never use them on a real chain):',
    table(['#', 'address', 'private key', 'balance'], rows, [0, 3]).trimEnd(),
    '',
    `Send a transfer: fastpos tx transfer --dev-account 0 --to ${devAccount(1).address} --amount 1000 --wait${running.url === DEFAULT_NODE_URL ? '' : ` --node ${running.url}`}`,
    '',
  ].join('\n');
}

function isBuiltInDevnet(running: RunningNode): boolean {
  return running.node.genesisHash === genesisHash(defaultDevnetGenesis());
}

export async function cmdStart(args: string[]): Promise<void> {
  if (wantsHelp(args)) throw new HelpRequested(START_HELP);
  const end = args.indexOf('--');
  const head = end < 0 ? args : args.slice(0, end);
  const init = head.includes('--init');
  const argv = init ? [...head.filter((a) => a !== '--init'), ...(end < 0 ? [] : args.slice(end))] : args;
  const { config } = loadConfig({ argv, env: process.env });
  checkDataDir(config, { init, defaultDir: resolve(process.cwd(), '.fastpos') });
  let running: RunningNode;
  try {
    running = await runNode(config, { handleSignals: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { port?: number };
    if (err?.code === 'EADDRINUSE') {
      const port = err.port ?? config.port;
      const flag = config.p2pPort !== undefined && port === config.p2pPort && port !== config.port ? '--p2p-port' : '--port';
      throw new CliError(`port ${port} is in use`, `another node? use ${flag}`);
    }
    throw e;
  }
  if (isBuiltInDevnet(running)) process.stdout.write(devnetBanner(running) + '\n');
  stopWithNpm();
  watchSync(() => running.syncProgress());
}

/** How often a node started through npm checks that npm is still there. */
const PARENT_CHECK_MS = 1000;

/**
 * Under `npx fastpos start` (and `npm start` without exec) a shell sits
 * between npm and the node: npm passes SIGTERM/SIGINT to the shell, which
 * exits without passing them on, and the node is left running under init.
 * A node started by npm therefore stops, as on SIGTERM, when its parent goes.
 */
function stopWithNpm(): void {
  const by = process.env.npm_command;
  if (by !== 'exec' && by !== 'start' && by !== 'run-script' && by !== 'run') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_CHECK_MS);
  timer.unref();
}
