#!/usr/bin/env node
/**
 * The `fastpos` command line: start a node, initialize a data dir, manage keys,
 * query a running node, sign and submit txs of every kind, verify, back up and
 * migrate a data dir. Every command has its help (`--help`, `-h`, `fastpos help
 * CMD`). Errors are one line (see errors.ts): exit code 2 for a wrong command
 * line or config, 1 for runtime failures. The reference is docs/cli.md.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPair } from '../client/keygen.js';
import { loadConfig, renderConfigYaml } from '../config/index.js';
import { devAccount } from '../crypto/keys.js';
import { keyFileFor, loadKeyFile, saveKeyFile } from '../node/keyFile.js';
import { DEFAULT_PARAMS, DEVNET_CHAIN_ID, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis, genesisHash } from '../state/genesis.js';
import type { Genesis, GenesisAccount } from '../types/index.js';
import { HelpRequested, UsageError, didYouMean, parseFlags, wantsHelp } from './args.js';
import { captureCliEnv, setVerbose } from './env.js';
import { reportError } from './errors.js';
import {
  BACKUP_HELP,
  GLOBAL_USAGE,
  INIT_HELP,
  KEYS_GENERATE_HELP,
  KEYS_HELP,
  KEYS_SHOW_HELP,
  MIGRATE_HELP,
  START_HELP,
  VERIFY_CHAIN_HELP,
} from './help.js';
import { QUERY_COMMANDS, cmdQuery, queryHelp } from './query.js';
import { TESTNET_USAGE, amountFlag, cmdTestnet } from './testnet.js';
import { TX_HELP, cmdTx } from './tx.js';

const COMMANDS = [...QUERY_COMMANDS, 'start', 'init', 'keys', 'tx', 'testnet', 'verify-chain', 'backup', 'migrate-state', 'help', 'version'] as const;

function int(v: string | undefined, name: string, usage: string, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required`, usage);
    return def;
  }
  if (!/^[0-9]{1,15}$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`, usage);
  return Number(v);
}

async function cmdVerifyChain(args: string[]): Promise<void> {
  if (wantsHelp(args)) throw new HelpRequested(VERIFY_CHAIN_HELP);
  const json = args.includes('--json');
  const { config } = loadConfig({ argv: args.filter((a) => a !== '--json'), env: process.env });
  const report = await (await import('./verifyChain.js')).verifyChain(config, { quiet: json });
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

function cmdInit(args: string[]): void {
  const { values } = parseFlags(
    args,
    {
      'data-dir': { type: 'string' },
      'chain-id': { type: 'string' },
      'dev-accounts': { type: 'string' },
      'treasury-balance': { type: 'string' },
      force: { type: 'boolean' },
    },
    INIT_HELP,
  );
  const v = values as Record<string, string | undefined> & { force?: boolean };
  const dataDir = resolve(v['data-dir'] ?? '.fastpos');
  const treasuryBalance = amountFlag(v['treasury-balance'], 'treasury-balance', (m) => new UsageError(m, INIT_HELP));
  const chainId = v['chain-id'] ?? DEVNET_CHAIN_ID;
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) throw new UsageError('--chain-id must be 1-64 characters of [a-zA-Z0-9._-]', INIT_HELP);
  const devnet = /(^|[-_.])(devnet|localnet)([-_.]|$)/.test(chainId);
  const devAccounts = int(v['dev-accounts'], 'dev-accounts', INIT_HELP, devnet ? 10 : 0);
  if (!devnet && devAccounts > 0) throw new UsageError('--dev-accounts is only for devnet chain ids: the dev keys are public', INIT_HELP);
  mkdirSync(dataDir, { recursive: true });
  const files = ['config.yaml', 'genesis.json', 'validator_key.json', 'account_key.json'].map((f) => join(dataDir, f));
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0 && v.force !== true) throw new UsageError(`${existing.join(', ')} already exist; pass --force to overwrite`, INIT_HELP);
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
  if (sub === undefined || sub === '--help' || sub === '-h') {
    if (sub === undefined) throw new UsageError('keys needs a subcommand: generate or show', KEYS_HELP);
    throw new HelpRequested(KEYS_HELP);
  }
  if (sub === 'generate') {
    const v = parseFlags(rest, { out: { type: 'string' } }, KEYS_GENERATE_HELP).values as { out?: string };
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
    const v = parseFlags(rest, { file: { type: 'string' } }, KEYS_SHOW_HELP).values as { file?: string };
    if (v.file === undefined) throw new UsageError('keys show needs --file FILE', KEYS_SHOW_HELP);
    const k = loadKeyFile(v.file);
    process.stdout.write(JSON.stringify({ publicKey: k.publicKey, address: k.address }, null, 2) + '\n');
    return;
  }
  throw new UsageError(`unknown keys subcommand "${sub}"${didYouMean(sub, ['generate', 'show'])}`, KEYS_HELP);
}

/** The help of `cmd` (and a subcommand), or undefined for an unknown command. */
function helpOf(cmd: string, sub?: string): string | undefined {
  switch (cmd) {
    case 'start':
      return START_HELP;
    case 'init':
      return INIT_HELP;
    case 'keys':
      return sub === 'generate' ? KEYS_GENERATE_HELP : sub === 'show' ? KEYS_SHOW_HELP : KEYS_HELP;
    case 'tx':
      return TX_HELP;
    case 'testnet':
      return TESTNET_USAGE;
    case 'verify-chain':
      return VERIFY_CHAIN_HELP;
    case 'backup':
      return BACKUP_HELP[sub ?? ''] ?? BACKUP_HELP['']!;
    case 'migrate-state':
      return MIGRATE_HELP;
    case 'help':
    case 'version':
      return GLOBAL_USAGE;
    default:
      return queryHelp(cmd);
  }
}

/** `--verbose` may stand anywhere before a `--`; it is taken out of the arguments. */
function takeVerbose(argv: string[]): string[] {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  if (!head.includes('--verbose')) return argv;
  setVerbose(true);
  return [...head.filter((a) => a !== '--verbose'), ...(end < 0 ? [] : argv.slice(end))];
}

/** The usage a usage error of this command line is shown with. */
let currentUsage = GLOBAL_USAGE;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  if (cmd !== undefined) currentUsage = helpOf(cmd, args[0]) ?? GLOBAL_USAGE;
  switch (cmd) {
    case 'start':
      // The node's modules (server, storage) load only for the commands that need them: help and queries stay quick.
      return (await import('./start.js')).cmdStart(args);
    case 'init':
      return cmdInit(args);
    case 'keys':
      return cmdKeys(args);
    case 'tx':
      return cmdTx(args);
    case 'testnet':
      return cmdTestnet(args, (message) => new UsageError(message, TESTNET_USAGE));
    case 'verify-chain':
      return cmdVerifyChain(args);
    case 'backup': {
      const sub = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
      const usage = BACKUP_HELP[sub ?? ''] ?? BACKUP_HELP['']!;
      if (wantsHelp(args)) throw new HelpRequested(usage);
      return (await import('./backup.js')).cmdBackup(args, (message) => new UsageError(message, usage));
    }
    case 'migrate-state':
      if (wantsHelp(args)) throw new HelpRequested(MIGRATE_HELP);
      return (await import('./migrate.js')).cmdMigrateState(args, (message) => new UsageError(message, MIGRATE_HELP));
    case '--version':
    case '-v':
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(pkg.version + '\n');
      return;
    }
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(GLOBAL_USAGE + '\n');
      return;
    case 'help': {
      const [topic, sub] = args;
      if (topic === undefined) throw new HelpRequested(GLOBAL_USAGE);
      if (topic === 'testnet') return cmdTestnet(['--help'], (message) => new UsageError(message, TESTNET_USAGE));
      const text = helpOf(topic, sub);
      if (text === undefined) throw new UsageError(`no help for "${topic}": not a command${didYouMean(topic, COMMANDS)}`, GLOBAL_USAGE);
      throw new HelpRequested(text);
    }
    default:
      if (QUERY_COMMANDS.includes(cmd)) return cmdQuery(cmd, args);
      throw new UsageError(`unknown command "${cmd}"${didYouMean(cmd, COMMANDS)}`, GLOBAL_USAGE);
  }
}

captureCliEnv();
main(takeVerbose(process.argv.slice(2))).catch((e: unknown) => {
  process.exit(reportError(e, currentUsage));
});
