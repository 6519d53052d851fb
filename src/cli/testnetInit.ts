/**
 * `fastpos testnet init`: writes one genesis with N fresh validators and, per
 * node, a folder `node<i>/` with that node's validator key, a copy of the
 * genesis and a `config.yaml` whose `peers` lists every other node. Every port
 * the nodes will listen on is checked free first, before anything is written.
 * Each validator's own address is funded in the genesis, so its key can pay
 * for its own staking txs (bond top-up, unbond, unjail).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { renderConfigYaml, type NodeConfig } from '../config/index.js';
import { generateKeyPair } from '../client/keygen.js';
import { devAccount } from '../crypto/keys.js';
import { keyFileFor, saveKeyFile } from '../node/keyFile.js';
import { isDevChainId } from '../node/node.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis, genesisHash } from '../state/genesis.js';
import type { Genesis, GenesisAccount, GenesisValidator } from '../types/index.js';
import { CliError, parseFlags } from './args.js';
import {
  HOSTNAME,
  NODE_DIR,
  SUPERVISOR_FILE,
  TESTNET_DEFAULT_BASE_PORT,
  TESTNET_DEFAULT_CHAIN_ID,
  TESTNET_DEV_ACCOUNTS,
  TESTNET_MAX_VALIDATORS,
  amountFlag,
  dialHost,
  intFlag,
  isSupervisorProcess,
  readSupervisorFile,
  urlFor,
  validHost,
  type UsageErrorFactory,
} from './testnetShared.js';

const VALIDATOR_STAKE = 1_000_000n;
const DEV_ACCOUNT_BALANCE = 1_000_000_000_000n;
/** What each validator's own address holds at genesis: enough for years of its own staking txs' fees. */
export const VALIDATOR_BALANCE = 1_000_000_000n;

export const INIT_USAGE = `Usage: fastpos testnet init --validators N --dir DIR [--base-port P | --ports P0,P1,...]
                            [--chain-id ID] [--host H] [--peer-host-template 'node{i}'] [--treasury-balance N]
                            [--p2p-base-port P] [--force] [--no-port-check]

Writes a testnet of N validators to DIR: DIR/genesis.json and, per node, DIR/node<i>/
(validator_key.json, genesis.json, config.yaml). Every port the nodes will listen on must be
free. Prints a JSON summary (chain id, genesis hash, each node's URL, validator id, admin token).

Flags:
  --validators N            number of validators (and nodes), 1-${TESTNET_MAX_VALIDATORS} (required)
  --dir DIR                 folder to write; absent or empty unless --force (required)
  --base-port P             node i listens on P + i (default ${TESTNET_DEFAULT_BASE_PORT})
  --ports P0,P1,...         one port per node instead of --base-port
  --chain-id ID             a devnet/localnet id (default ${TESTNET_DEFAULT_CHAIN_ID})
  --host H                  address every node listens on (default 127.0.0.1)
  --peer-host-template T    host of node i in peer URLs, {i} = index (one host per node, e.g. containers)
  --p2p-base-port P         validator network on ports P + i of its own
  --treasury-balance N      tokens the protocol treasury starts with (default 0)
  --force                   replace the testnet in a non-empty DIR
  --no-port-check           write it even if its ports are taken now (to start it later, or elsewhere)

Examples:
  fastpos testnet init --validators 4 --dir ./testnet
  fastpos testnet init --validators 3 --dir ./net --base-port 36657 --p2p-base-port 36757`;

/** True when `port` can be bound on `host` right now (closed again at once). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => done(true)));
  });
}

export interface TestnetNodeSummary {
  readonly index: number;
  readonly dir: string;
  /** Where the other nodes (and you) reach this node. */
  readonly url: string;
  readonly listen: string;
  readonly port: number;
  /** With --p2p-base-port: the validator network's own port and the URL peers dial. */
  readonly p2pPort?: number;
  readonly p2pUrl?: string;
  readonly peers: string[];
  readonly validatorId: string;
  readonly validatorPubKey: string;
  readonly adminToken: string;
}

export interface TestnetSummary {
  readonly dir: string;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly validators: number;
  readonly governance: string[];
  readonly devAccounts: number;
  readonly nodes: TestnetNodeSummary[];
}

export async function testnetInit(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const { values } = parseFlags(
    args,
    {
      validators: { type: 'string' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      ports: { type: 'string' },
      'chain-id': { type: 'string' },
      host: { type: 'string' },
      'peer-host-template': { type: 'string' },
      'treasury-balance': { type: 'string' },
      'p2p-base-port': { type: 'string' },
      force: { type: 'boolean' },
      'no-port-check': { type: 'boolean' },
    },
    INIT_USAGE,
  );
  const v = values as Partial<Record<'validators' | 'dir' | 'base-port' | 'ports' | 'chain-id' | 'host' | 'peer-host-template' | 'treasury-balance' | 'p2p-base-port', string>> & {
    force?: boolean;
    'no-port-check'?: boolean;
  };
  const n = intFlag(v.validators, 'validators', 1, TESTNET_MAX_VALIDATORS, usageError);
  if (v.dir === undefined || v.dir === '') throw usageError('--dir is required: the folder the testnet is written to');
  const dir = resolve(v.dir);

  const chainId = v['chain-id'] ?? TESTNET_DEFAULT_CHAIN_ID;
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) throw usageError('--chain-id must be 1-64 characters of [a-zA-Z0-9._-]');
  if (!isDevChainId(chainId)) {
    throw usageError(
      `--chain-id "${chainId}" is not a devnet/localnet id: a testnet funds the public dev accounts (their keys are published), so its chain id must contain "devnet" or "localnet" as a word (e.g. ${TESTNET_DEFAULT_CHAIN_ID}, acme-devnet)`,
    );
  }

  const host = v.host ?? '127.0.0.1';
  if (!validHost(host)) throw usageError(`--host must be a host name or IP address, got "${host}"`);

  const template = v['peer-host-template'];
  if (template !== undefined) {
    if (!template.includes('{i}')) throw usageError(`--peer-host-template must contain "{i}" (the node index), e.g. 'node{i}'; got "${template}"`);
    if (!HOSTNAME.test(template.replaceAll('{i}', '0'))) throw usageError(`--peer-host-template must give host names, e.g. 'node{i}'; got "${template}"`);
  }

  // Ports: explicit list, or base + i (one host), or the same port everywhere (one host per node).
  let ports: number[];
  if (v.ports !== undefined) {
    if (v['base-port'] !== undefined) throw usageError('give --base-port or --ports, not both');
    const parts = v.ports.split(',').map((s) => s.trim());
    ports = parts.map((p) => intFlag(p, 'ports', 1, 65535, usageError));
    if (ports.length !== n) throw usageError(`--ports lists ${ports.length} port(s) but --validators is ${n}`);
    if (template === undefined && new Set(ports).size !== ports.length) throw usageError('--ports lists a port twice (the nodes share one host)');
  } else {
    const base = intFlag(v['base-port'], 'base-port', 1, 65535, usageError, TESTNET_DEFAULT_BASE_PORT);
    if (template === undefined && base + n - 1 > 65535) throw usageError(`--base-port ${base} + ${n} validators goes past port 65535`);
    ports = Array.from({ length: n }, (_, i) => (template === undefined ? base + i : base));
  }
  const peerHost = (i: number): string => (template === undefined ? dialHost(host) : template.replaceAll('{i}', String(i)));
  const urls = ports.map((p, i) => urlFor(peerHost(i), p));
  // The validator network on listeners of its own (p2pPort): peers dial those; public traffic cannot starve consensus.
  let p2pPorts: number[] | undefined;
  if (v['p2p-base-port'] !== undefined) {
    const base = intFlag(v['p2p-base-port'], 'p2p-base-port', 1, 65535, usageError);
    if (template === undefined && base + n - 1 > 65535) throw usageError(`--p2p-base-port ${base} + ${n} validators goes past port 65535`);
    p2pPorts = Array.from({ length: n }, (_, i) => (template === undefined ? base + i : base));
    const clash = p2pPorts.find((p) => ports.includes(p));
    if (clash !== undefined && template === undefined) throw usageError(`--p2p-base-port gives port ${clash}, which a node's API already uses`);
  }
  const peerUrls = p2pPorts === undefined ? urls : p2pPorts.map((p, i) => urlFor(peerHost(i), p));

  // The target folder: absent or empty, or replaced with --force (checked here, emptied below).
  let replace: string[] = [];
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw usageError(`${dir} exists and is not a folder`);
    const entries = readdirSync(dir);
    if (entries.length > 0) {
      if (!v.force) throw usageError(`${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}); pass --force to replace the testnet in it`);
      // --force replaces what a testnet init wrote there (node folders with their chain data, genesis.json); nothing else.
      replace = entries.filter((e) => NODE_DIR.test(e) || e === 'genesis.json' || e === SUPERVISOR_FILE);
      const sup = readSupervisorFile(dir);
      if (sup !== undefined && isSupervisorProcess(sup.pid)) {
        throw new CliError(`the testnet in ${dir} is running (supervisor pid ${sup.pid})`, `stop it first: fastpos testnet stop --dir ${dir}`);
      }
    }
  }

  // Every port the nodes will bind on this machine must be free, before anything is written.
  // With --peer-host-template each node runs on a host of its own (a container): nothing to check here.
  if (template === undefined && v['no-port-check'] !== true) {
    const checks: { port: number; what: string; flag: string }[] = ports.map((p, i) => ({ port: p, what: `node${i} API`, flag: v.ports !== undefined ? '--ports' : '--base-port' }));
    if (p2pPorts !== undefined) checks.push(...p2pPorts.map((p, i) => ({ port: p, what: `node${i} p2p`, flag: '--p2p-base-port' })));
    for (const c of checks) {
      if (!(await isPortFree(c.port, host))) throw new CliError(`port ${c.port} (${c.what}) is in use: pick ${c.flag} or stop what uses it`);
    }
  }

  for (const e of replace) rmSync(join(dir, e), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  // Genesis: N fresh validators with equal stake, dev accounts 0-9 funded, dev account 0 governs.
  const keys = Array.from({ length: n }, () => generateKeyPair());
  const accounts: GenesisAccount[] = [];
  for (let i = 0; i < TESTNET_DEV_ACCOUNTS; i++) accounts.push({ address: devAccount(i).address, balance: DEV_ACCOUNT_BALANCE });
  // The protocol-owned treasury (a module account: nobody holds its key), funded here if asked.
  const treasuryBalance = amountFlag(v['treasury-balance'], 'treasury-balance', usageError);
  if (treasuryBalance > 0n) accounts.push({ address: TREASURY_ADDRESS, balance: treasuryBalance });
  // Each validator's own address operates it (no rewardAddress: the validator id), so it signs its own
  // bond top-ups, unbonds and unjails: fund it so its key can pay their fees.
  for (const k of keys) accounts.push({ address: keyFileFor(k.privateKey).address, balance: VALIDATOR_BALANCE });
  const validators: GenesisValidator[] = keys.map((k) => ({ pubKey: k.publicKey, stake: VALIDATOR_STAKE, workWeight: NEUTRAL_WORK_WEIGHT }));
  const governance = [devAccount(0).address];
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    treasury: TREASURY_ADDRESS,
    params: { ...DEFAULT_PARAMS, governance },
    accounts,
    validators,
  };
  const genesisJson = JSON.stringify(encodeGenesis(genesis), null, 2) + '\n';
  writeFileSync(join(dir, 'genesis.json'), genesisJson);

  const nodes: TestnetNodeSummary[] = [];
  for (let i = 0; i < n; i++) {
    const nodeDir = join(dir, `node${i}`);
    mkdirSync(nodeDir, { recursive: true });
    const key = saveKeyFile(join(nodeDir, 'validator_key.json'), keys[i]!.privateKey, { overwrite: true });
    writeFileSync(join(nodeDir, 'genesis.json'), genesisJson);
    const peers = peerUrls.filter((_, j) => j !== i);
    const adminToken = randomBytes(24).toString('hex');
    const config: Partial<NodeConfig> = {
      dataDir: '.',
      host,
      port: ports[i]!,
      ...(p2pPorts === undefined ? {} : { p2pPort: p2pPorts[i]! }),
      logLevel: 'info',
      adminToken,
      ...(peers.length === 0 ? {} : { peers: peers.join(',') }),
      // Every node already lists every other one. With container names a node cannot tell its own
      // name from a peer's, so discovery would only teach it to dial itself: leave it off there.
      ...(template === undefined ? {} : { peerDiscoveryIntervalMs: 0 }),
    };
    // The config holds the admin token: only its owner may read it.
    writeFileSync(join(nodeDir, 'config.yaml'), renderConfigYaml(config), { mode: 0o600 });
    nodes.push({
      index: i,
      dir: nodeDir,
      url: urls[i]!,
      listen: `${host}:${ports[i]!}`,
      port: ports[i]!,
      ...(p2pPorts === undefined ? {} : { p2pPort: p2pPorts[i]!, p2pUrl: peerUrls[i]! }),
      peers,
      validatorId: key.address,
      validatorPubKey: key.publicKey,
      adminToken,
    });
  }
  const summary: TestnetSummary = {
    dir,
    chainId,
    genesisHash: genesisHash(genesis),
    validators: n,
    governance,
    devAccounts: TESTNET_DEV_ACCOUNTS,
    nodes,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

