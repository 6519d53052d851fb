#!/usr/bin/env node
/**
 * The `fastpos` command line: start a node, initialize a data dir, manage keys,
 * sign and submit txs of every kind. Bad flags or config end with a message on stderr
 * and exit code 2; runtime failures with exit code 1.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiError } from '../client/index.js';
import { loadConfig, renderConfigYaml } from '../config/index.js';
import { generateKeyPair } from '../client/keygen.js';
import { devAccount } from '../crypto/keys.js';
import { isFastposError } from '../errors.js';
import { keyFileFor, loadKeyFile, saveKeyFile } from '../node/keyFile.js';
import { runNode } from '../node/run.js';
import { watchSync } from './syncProgress.js';
import { verifyChain } from './verifyChain.js';
import { BACKUP_USAGE, cmdBackup } from './backup.js';
import { DEFAULT_PARAMS, DEVNET_CHAIN_ID, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis, genesisHash } from '../state/genesis.js';
import type { Genesis, GenesisAccount } from '../types/index.js';
import { amountFlag, cmdTestnet } from './testnet.js';
import { CliError, HelpRequested, UsageError as ArgsUsageError } from './args.js';
import { TX_USAGE, cmdTx } from './tx.js';

const USAGE = `fastpos — a simplified, auditable proof-of-stake node

Usage:
  fastpos start [--config FILE] [--data-dir DIR] [--host H] [--port P] [--<any config key> V]
  fastpos init [--data-dir DIR] [--chain-id ID] [--dev-accounts N] [--treasury-balance N] [--force]
  fastpos keys generate [--out FILE]
  fastpos keys show --file FILE
${TX_USAGE}
  fastpos testnet init --validators N --dir DIR [--base-port P | --ports P0,P1,...]
                       [--chain-id ID] [--host H] [--peer-host-template 'node{i}'] [--treasury-balance N]
                       [--p2p-base-port P] [--force]
  fastpos testnet start --dir DIR
  fastpos verify-chain [--config FILE] [--data-dir DIR] [--state-backend sqlite|snapshot]
                       [--json] (replays every stored block from genesis; run it on a stopped node or a backup)
${BACKUP_USAGE}
  fastpos migrate-state --data-dir DIR --from sqlite|snapshot --to snapshot|sqlite [--json]
                        (copies a stopped data dir's chain into the other backend and switches to it)
  fastpos --help | --version

Every config key is a flag (--kebab-case) and an environment variable
(FASTPOS_UPPER_SNAKE); see docs/configuration.md.`;

class UsageError extends Error {}

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false } as const).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function int(v: string | undefined, name: string, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required`);
    return def;
  }
  if (!/^[0-9]{1,15}$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

async function cmdVerifyChain(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const { config } = loadConfig({ argv: args.filter((a) => a !== '--json'), env: process.env });
  const report = await verifyChain(config, { quiet: json });
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

async function cmdStart(args: string[]): Promise<void> {
  const { config } = loadConfig({ argv: args, env: process.env });
  const running = await runNode(config, { handleSignals: true });
  watchSync(() => running.syncProgress());
}

function cmdInit(args: string[]): void {
  const v = parse(args, {
    'data-dir': { type: 'string' },
    'chain-id': { type: 'string' },
    'dev-accounts': { type: 'string' },
    'treasury-balance': { type: 'string' },
    force: { type: 'boolean' },
  });
  const dataDir = resolve(v['data-dir'] ?? '.fastpos');
  const treasuryBalance = amountFlag(v['treasury-balance'], 'treasury-balance', (m) => new UsageError(m));
  const chainId = v['chain-id'] ?? DEVNET_CHAIN_ID;
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) throw new UsageError('--chain-id must be 1-64 characters of [a-zA-Z0-9._-]');
  const devnet = /(^|[-_.])(devnet|localnet)([-_.]|$)/.test(chainId);
  const devAccounts = int(v['dev-accounts'], 'dev-accounts', devnet ? 10 : 0);
  if (!devnet && devAccounts > 0) throw new UsageError('--dev-accounts is only for devnet chain ids: the dev keys are public');
  mkdirSync(dataDir, { recursive: true });
  const files = ['config.yaml', 'genesis.json', 'validator_key.json', 'account_key.json'].map((f) => join(dataDir, f));
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && !v.force) throw new UsageError(`${existing.join(', ')} already exist; pass --force to overwrite`);
  const validator = saveKeyFile(files[2]!, generateKeyPair().privateKey, { overwrite: true });
  const account = saveKeyFile(files[3]!, generateKeyPair().privateKey, { overwrite: true });
  const accounts: GenesisAccount[] = [{ address: account.address, balance: 1_000_000_000_000n }];
  for (let i = 0; i < devAccounts; i++) accounts.push({ address: devAccount(i).address, balance: 1_000_000_000_000n });
  // The protocol-owned treasury (a module account: nobody holds its key), funded here if asked.
  if (treasuryBalance > 0n) accounts.push({ address: TREASURY_ADDRESS, balance: treasuryBalance });
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    treasury: TREASURY_ADDRESS,
    params: { ...DEFAULT_PARAMS, governance: [account.address] },
    accounts,
    // The funded account operates the validator: it receives fees and may top up, unbond and unjail.
    validators: [{ pubKey: validator.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT, rewardAddress: account.address }],
  };
  writeFileSync(files[1]!, JSON.stringify(encodeGenesis(genesis), null, 2) + '\n');
  writeFileSync(files[0]!, renderConfigYaml({ dataDir: '.' }));
  process.stdout.write(
    JSON.stringify({ dataDir, chainId, genesisHash: genesisHash(genesis), validatorId: validator.address, account: account.address, files }, null, 2) + '\n',
  );
}

function cmdKeys(args: string[]): void {
  const [sub, ...rest] = args;
  if (sub === 'generate') {
    const v = parse(rest, { out: { type: 'string' } });
    const kp = generateKeyPair();
    if (v.out !== undefined) {
      const k = saveKeyFile(v.out, kp.privateKey);
      process.stdout.write(JSON.stringify({ file: v.out, publicKey: k.publicKey, address: k.address }, null, 2) + '\n');
    } else {
      process.stdout.write(JSON.stringify({ type: 'ed25519', ...kp, address: keyFileFor(kp.privateKey).address }, null, 2) + '\n');
    }
    return;
  }
  if (sub === 'show') {
    const v = parse(rest, { file: { type: 'string' } });
    if (v.file === undefined) throw new UsageError('keys show needs --file FILE');
    const k = loadKeyFile(v.file);
    process.stdout.write(JSON.stringify({ publicKey: k.publicKey, address: k.address }, null, 2) + '\n');
    return;
  }
  throw new UsageError('keys needs a subcommand: generate or show');
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'start':
      return cmdStart(args);
    case 'init':
      return cmdInit(args);
    case 'keys':
      return cmdKeys(args);
    case 'tx':
      return cmdTx(args, (message) => new UsageError(message));
    case 'testnet':
      return cmdTestnet(args, (message) => new UsageError(message));
    case 'verify-chain':
      return cmdVerifyChain(args);
    case 'backup':
      return cmdBackup(args, (message) => new UsageError(message));
    case 'migrate-state':
      return (await import('./migrate.js')).cmdMigrateState(args, (message) => new UsageError(message));
    case '--version':
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(pkg.version + '\n');
      return;
    }
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof HelpRequested) {
    process.stdout.write(e.text + '\n');
    process.exit(0);
  }
  if (e instanceof ArgsUsageError) {
    process.stderr.write(`fastpos: ${e.message}\n${e.usage === undefined ? '' : `\n${e.usage}\n`}`);
    process.exit(2);
  }
  if (e instanceof CliError) {
    process.stderr.write(`fastpos: ${e.message}${e.hint === undefined ? '' : `: ${e.hint}`}\n`);
    process.exit(e.exitCode);
  }
  if (e instanceof UsageError) {
    process.stderr.write(`fastpos: ${e.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (isFastposError(e)) {
    process.stderr.write(`fastpos: ${e.code}: ${e.message}\n`);
    process.exit(e.code === 'INVALID_CONFIG' || e.code === 'INVALID_GENESIS' ? 2 : 1);
  }
  if (e instanceof ApiError) {
    process.stderr.write(`fastpos: node answered ${e.status} ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`fastpos: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
