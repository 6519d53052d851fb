import { canonicalJson } from '../codec/canonical.js';
import { ORACLE_SET_KEY, PRODUCT_PARAMS_KEY, VALIDATOR_INDEX_KEY, accountKey, epochKey, validatorKey, type StateValue } from '../codec/state.js';
import { MAX_UPGRADE_HEIGHT, UPGRADE_NAME_RE, isAddress, parseAmount } from '../codec/tx.js';
import { createHash, type Hash } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';
import { devAccount, devValidator, moduleAddress } from '../crypto/keys.js';
import { ErrorCode, FastposError, assert } from '../errors.js';
import { newValidator } from './staking.js';
import type { ChainParams, EpochRecord, Genesis, GenesisAccount, GenesisAccounts, GenesisUpgrade, GenesisValidator, OracleEntry, ProductGenesis, ProductParams, Validator, ValidatorIndex } from '../types/index.js';
import { DEFAULT_PRODUCT_PARAMS } from './product.js';
import { selectEpochValidators } from './epochs.js';
import { upgradeGenesisEntries } from './upgrades.js';

export const DEVNET_CHAIN_ID = 'fastpos-devnet';
export const NEUTRAL_WORK_WEIGHT = 10_000;
export const DEFAULT_PARAMS: ChainParams = {
  minFee: 1n,
  feeRecipient: 'proposer',
  maxBlockTxs: 2_000,
  maxBlockBytes: 1_048_576,
  maxTxBytes: 4_096,
  governance: [],
  epochLengthBlocks: 100,
  maxValidators: 100,
  unbondingPeriodBlocks: 1_000,
  minSelfBond: 1n,
  slashDoubleSignBps: 500,
  slashDowntimeBps: 100,
  jailDoubleSignBlocks: 10_000,
  jailDowntimeBlocks: 100,
  downtimeWindowBlocks: 100,
  downtimeMaxMissed: 50,
  evidenceMaxAgeBlocks: 1_000,
};

/**
 * The protocol-owned treasury: the module account "treasury"
 * (hex(sha256("fastpos/module/treasury"))[0:40]). New chains use it; a genesis
 * without a `treasury` field gets it.
 */
export const TREASURY_ADDRESS = moduleAddress('treasury');

/** Treasury of the default devnet: a fixed address nobody holds a key for. */
export const DEVNET_TREASURY = sha256Hex('fastpos-devnet-treasury').slice(0, 40);

/** A genesis whose accounts are an array in memory (the devnet default, a decoded document, tests). */
export type InMemoryGenesis = Genesis & { readonly accounts: readonly GenesisAccount[] };

/**
 * The deterministic default devnet: dev validator 0 (stake 1,000,000) and dev
 * accounts 0–9 with 1,000,000,000,000 each. Same bytes, same hash, everywhere.
 */
export function defaultDevnetGenesis(opts: { validators?: number; accounts?: number } = {}): InMemoryGenesis {
  const accounts: GenesisAccount[] = [];
  for (let i = 0; i < (opts.accounts ?? 10); i++) accounts.push({ address: devAccount(i).address, balance: 1_000_000_000_000n });
  const validators: GenesisValidator[] = [];
  for (let i = 0; i < (opts.validators ?? 1); i++) validators.push({ pubKey: devValidator(i).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT });
  // Dev account 0 governs the devnet (it may set work weights).
  const params: ChainParams = { ...DEFAULT_PARAMS, governance: [devAccount(0).address] };
  return { chainId: DEVNET_CHAIN_ID, genesisTime: 1_767_225_600_000, treasury: DEVNET_TREASURY, params, accounts, validators };
}

export function encodeGenesis(g: Genesis): Record<string, unknown> {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    treasury: g.treasury,
    params: { ...g.params, minFee: g.params.minFee.toString(), minSelfBond: g.params.minSelfBond.toString(), governance: [...g.params.governance] },
    accounts: Array.from(g.accounts, encodeGenesisAccount),
    validators: g.validators.map((v) => ({
      pubKey: v.pubKey,
      stake: v.stake.toString(),
      workWeight: v.workWeight,
      ...(v.rewardAddress === undefined ? {} : { rewardAddress: v.rewardAddress }),
    })),
    // Written only when the genesis has one: the hash of a genesis without it stays what it was.
    ...(g.product === undefined
      ? {}
      : {
          product: {
            oracles: g.product.oracles.map((x) => ({ address: x.address, stake: x.stake.toString() })),
            params: { ...g.product.params, rewardPerEpoch: g.product.params.rewardPerEpoch.toString(), challengeBond: g.product.params.challengeBond.toString() },
          },
        }),
    // The same: a genesis without a schedule hashes as before the section existed.
    ...(g.upgrades === undefined ? {} : { upgrades: sortUpgrades(g.upgrades).map((u) => ({ name: u.name, height: u.height })) }),
  };
}

function encodeGenesisAccount(a: GenesisAccount): { address: string; balance: string } {
  return { address: a.address, balance: a.balance.toString() };
}

/**
 * Text of accounts gathered before it is written into the hash: under V8's
 * large-object size (128 KiB), so that the pieces die young instead of
 * piling up in the old generation until a full collection.
 */
const HASH_PIECE_CHARS = 64 * 1024;

/**
 * The genesis hash's input up to the end of its accounts' text:
 * `"fastpos/genesis/v1\n"`, `{"accounts":[` (in canonical JSON `accounts`
 * sorts before every other member of a genesis) and each account's canonical
 * JSON, written into a SHA-256 in pieces as the accounts come, so that the
 * accounts of a large genesis never exist as one text.
 */
export class GenesisAccountHasher {
  private readonly h = createHash('sha256').update('fastpos/genesis/v1\n{"accounts":[');
  private piece = '';
  private count = 0;

  add(a: GenesisAccount): void {
    // The canonical JSON of {address, balance}: members in key order, strings as JSON.stringify writes them (RFC 8785).
    this.piece += `${this.count++ > 0 ? ',' : ''}{"address":${JSON.stringify(a.address)},"balance":"${a.balance.toString()}"}`;
    if (this.piece.length >= HASH_PIECE_CHARS) this.flush();
  }

  /** A copy of the hash so far (this hasher may go on). */
  hashSoFar(): Hash {
    this.flush();
    return this.h.copy();
  }

  private flush(): void {
    if (this.piece === '') return;
    this.h.update(this.piece);
    this.piece = '';
  }
}

/**
 * An accounts source that was read through once already (a genesis file): it
 * kept the genesis hash's input up to the end of its accounts, and whether it
 * funds a public development account, so neither needs another read.
 */
export interface ScannedGenesisAccounts extends GenesisAccounts {
  /** The hash after `"fastpos/genesis/v1\n"`, `{"accounts":[` and every account (a fresh copy per call). */
  hashedThroughAccounts(): Hash;
  readonly fundsDevAccount: boolean;
}

function isScanned(a: GenesisAccounts): a is ScannedGenesisAccounts {
  return typeof (a as Partial<ScannedGenesisAccounts>).hashedThroughAccounts === 'function';
}

/**
 * SHA-256 of `"fastpos/genesis/v1\n"` + the canonical JSON of `encodeGenesis(g)`,
 * written into the hash in pieces: the accounts (the part that grows) are
 * encoded a slice at a time (`GenesisAccountHasher`), so a genesis of a million
 * accounts never exists as one text. Byte for byte the same input as the whole document.
 */
export function genesisHash(g: Genesis): string {
  let h: Hash;
  if (isScanned(g.accounts)) {
    h = g.accounts.hashedThroughAccounts();
  } else {
    const hasher = new GenesisAccountHasher();
    for (const a of g.accounts) hasher.add(a);
    h = hasher.hashSoFar();
  }
  const doc = encodeGenesis({ ...g, accounts: [] });
  // Canonical JSON: members in the order of their keys' UTF-16 code units; `accounts` is the first.
  const keys = Object.keys(doc)
    .filter((k) => k !== 'accounts' && doc[k] !== undefined)
    .sort();
  let rest = ']';
  for (const k of keys) rest += ',' + JSON.stringify(k) + ':' + canonicalJson(doc[k]);
  h.update(rest + '}');
  return h.digest('hex');
}

/** Marker of the accounts' place while the rest of a genesis is encoded (no genesis value can hold it). */
const ACCOUNTS_MARKER = '\u0000accounts';
/** Accounts per piece of `genesisJsonPieces`: under 64 KiB of text (see `HASH_PIECE_CHARS`). */
const WIRE_ACCOUNTS_PER_PIECE = 512;

/**
 * The text of `JSON.stringify(encodeGenesis(g))` (or, with `indent` 2, of
 * `JSON.stringify(encodeGenesis(g), null, 2)`), in pieces of at most a few
 * thousand accounts: joined, the same bytes, without the whole text or every
 * account at once in memory.
 */
export function* genesisJsonPieces(g: Genesis, indent: 0 | 2 = 0): Generator<string> {
  const text = JSON.stringify({ ...encodeGenesis({ ...g, accounts: [] }), accounts: ACCOUNTS_MARKER }, null, indent === 0 ? undefined : indent);
  const marker = JSON.stringify(ACCOUNTS_MARKER);
  const at = text.indexOf(marker);
  assert(at >= 0 && text.indexOf(marker, at + 1) < 0, 'the genesis text holds the accounts marker once');
  const [open, sep, close] = indent === 0 ? ['[', ',', ']'] : ['[\n', ',\n', '\n  ]'];
  const one = (a: GenesisAccount): string => {
    const w = encodeGenesisAccount(a);
    return indent === 0 ? JSON.stringify(w) : `    {\n      "address": ${JSON.stringify(w.address)},\n      "balance": ${JSON.stringify(w.balance)}\n    }`;
  };
  yield text.slice(0, at);
  let piece = '';
  let n = 0;
  for (const a of g.accounts) {
    piece += (n === 0 ? open : sep) + one(a);
    if (++n % WIRE_ACCOUNTS_PER_PIECE === 0) {
      yield piece;
      piece = '';
    }
  }
  yield piece + (n === 0 ? '[]' : close) + text.slice(at + marker.length);
}

/** Numeric chain parameters (JSON numbers). */
type NumericParam = { [K in keyof ChainParams]: ChainParams[K] extends number ? K : never }[keyof ChainParams];
/** Largest value of a parameter counted in blocks: keeps every height + period a safe integer. */
const MAX_PERIOD_BLOCKS = 1_000_000_000_000;
/** About 35 days of one-second blocks; a slash then costs at most that many bucket lookups. */
export const MAX_UNBONDING_BLOCKS = 3_000_000;

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_GENESIS, message);
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function only(o: Record<string, unknown>, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${where}: unknown key "${k}"`);
}

function amount(v: unknown, where: string): bigint {
  try {
    return parseAmount(v, where);
  } catch {
    return bad(`${where} must be a decimal string`);
  }
}

/** One genesis account, `i` its place in `accounts` (the duplicate check is the caller's: `duplicateAccount`). */
export function decodeGenesisAccount(a: unknown, i: number): GenesisAccount {
  if (!isObj(a)) bad(`accounts[${i}] must be an object`);
  only(a, `accounts[${i}]`, ['address', 'balance']);
  if (!isAddress(a.address)) bad(`accounts[${i}].address must be 40 lowercase hex`);
  return { address: a.address, balance: amount(a.balance, `accounts[${i}].balance`) };
}

/** The error of account `i` whose address an earlier account has already. */
export function duplicateAccount(i: number, address: string): FastposError {
  return new FastposError(ErrorCode.INVALID_GENESIS, `accounts[${i}].address ${address} appears twice`);
}

/** The `accounts` of a genesis document held in memory. */
export function decodeGenesisAccounts(accounts: unknown): GenesisAccount[] {
  if (!Array.isArray(accounts)) bad('accounts must be an array');
  const seen = new Set<string>();
  return accounts.map((a: unknown, i): GenesisAccount => {
    const account = decodeGenesisAccount(a, i);
    if (seen.has(account.address)) throw duplicateAccount(i, account.address);
    seen.add(account.address);
    return account;
  });
}

/**
 * Parses and checks a genesis document, naming the first field that is wrong.
 * `accounts` decodes the `accounts` member in its turn (the checks run in
 * this order: a large genesis file streams its accounts past a reader of its
 * own and hands over what it found); by default it is an array in `j`.
 */
export function decodeGenesis(j: unknown): InMemoryGenesis;
export function decodeGenesis(j: unknown, accounts: (raw: unknown) => GenesisAccounts): Genesis;
export function decodeGenesis(j: unknown, accounts: (raw: unknown) => GenesisAccounts = decodeGenesisAccounts): Genesis {
  if (!isObj(j)) bad('genesis must be a JSON object');
  only(j, 'genesis', ['chainId', 'genesisTime', 'treasury', 'params', 'accounts', 'validators', 'product', 'upgrades']);
  const { chainId, genesisTime, treasury, params, validators, product, upgrades } = j;
  if (typeof chainId !== 'string' || !/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) bad('chainId must be 1-64 characters of [a-zA-Z0-9._-]');
  if (!isUint(genesisTime)) bad('genesisTime must be Unix milliseconds');
  if (treasury !== undefined && !isAddress(treasury)) bad('treasury must be an address (40 lowercase hex)');
  if (params !== undefined && !isObj(params)) bad('params must be an object');
  const p: Record<string, unknown> = isObj(params) ? params : {};
  only(p, 'params', Object.keys(DEFAULT_PARAMS));
  const num = (k: NumericParam, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = p[k] === undefined ? DEFAULT_PARAMS[k] : p[k];
    if (!isUint(v) || v < min || v > max) bad(max === Number.MAX_SAFE_INTEGER ? `params.${k} must be an integer >= ${min}` : `params.${k} must be an integer from ${min} to ${max}`);
    return v;
  };
  const feeRecipient = p.feeRecipient === undefined ? DEFAULT_PARAMS.feeRecipient : p.feeRecipient;
  if (feeRecipient !== 'proposer' && feeRecipient !== 'treasury') bad('params.feeRecipient must be "proposer" or "treasury"');
  const parsedParams: ChainParams = {
    minFee: p.minFee === undefined ? DEFAULT_PARAMS.minFee : amount(p.minFee, 'params.minFee'),
    feeRecipient,
    maxBlockTxs: num('maxBlockTxs', 1),
    maxBlockBytes: num('maxBlockBytes', 1024),
    maxTxBytes: num('maxTxBytes', 512),
    governance: governanceList(p.governance),
    epochLengthBlocks: num('epochLengthBlocks', 1, MAX_PERIOD_BLOCKS),
    maxValidators: num('maxValidators', 1, 100_000),
    // Slashing and the unbonding reads look up every bucket of one unbonding period: keep it bounded.
    unbondingPeriodBlocks: num('unbondingPeriodBlocks', 1, MAX_UNBONDING_BLOCKS),
    minSelfBond: p.minSelfBond === undefined ? DEFAULT_PARAMS.minSelfBond : amount(p.minSelfBond, 'params.minSelfBond'),
    slashDoubleSignBps: num('slashDoubleSignBps', 0, 10_000),
    slashDowntimeBps: num('slashDowntimeBps', 0, 10_000),
    jailDoubleSignBlocks: num('jailDoubleSignBlocks', 1, MAX_PERIOD_BLOCKS),
    jailDowntimeBlocks: num('jailDowntimeBlocks', 1, MAX_PERIOD_BLOCKS),
    downtimeWindowBlocks: num('downtimeWindowBlocks', 1, MAX_PERIOD_BLOCKS),
    downtimeMaxMissed: num('downtimeMaxMissed', 0, MAX_PERIOD_BLOCKS),
    evidenceMaxAgeBlocks: num('evidenceMaxAgeBlocks', 1, MAX_PERIOD_BLOCKS),
  };
  // Older evidence could punish stake that has already left: every unbonding entry created at or after
  // an infraction must still be held when the oldest admissible evidence of it lands.
  if (parsedParams.evidenceMaxAgeBlocks > parsedParams.unbondingPeriodBlocks) {
    bad(`params.evidenceMaxAgeBlocks (${parsedParams.evidenceMaxAgeBlocks}) must not exceed params.unbondingPeriodBlocks (${parsedParams.unbondingPeriodBlocks})`);
  }
  const parsedAccounts = accounts(j.accounts);
  if (!Array.isArray(validators) || validators.length === 0) bad('validators must be a non-empty array');
  const seenV = new Set<string>();
  const parsedValidators = validators.map((v: unknown, i): GenesisValidator => {
    if (!isObj(v)) bad(`validators[${i}] must be an object`);
    only(v, `validators[${i}]`, ['pubKey', 'stake', 'workWeight', 'rewardAddress']);
    if (typeof v.pubKey !== 'string' || !/^[0-9a-f]{64}$/.test(v.pubKey)) bad(`validators[${i}].pubKey must be 64 lowercase hex`);
    if (seenV.has(v.pubKey)) bad(`validators[${i}].pubKey appears twice`);
    seenV.add(v.pubKey);
    const stake = amount(v.stake, `validators[${i}].stake`);
    if (stake === 0n) bad(`validators[${i}].stake must be positive`);
    if (stake < parsedParams.minSelfBond) bad(`validators[${i}].stake ${stake} is below params.minSelfBond ${parsedParams.minSelfBond}`);
    const workWeight = v.workWeight === undefined ? NEUTRAL_WORK_WEIGHT : v.workWeight;
    if (!isUint(workWeight) || workWeight > 1_000_000) bad(`validators[${i}].workWeight must be basis points from 0 to 1000000`);
    if (v.rewardAddress !== undefined && !isAddress(v.rewardAddress)) bad(`validators[${i}].rewardAddress must be 40 lowercase hex`);
    return { pubKey: v.pubKey, stake, workWeight, ...(v.rewardAddress === undefined ? {} : { rewardAddress: v.rewardAddress as string }) };
  });
  const parsedProduct = product === undefined ? undefined : decodeProductGenesis(product);
  if (parsedProduct !== undefined) {
    // A validator must not escape an open challenge by unbonding: its tokens stay slashable until a challenge is settled.
    const pp = parsedProduct.params;
    const span = pp.challengeWindowBlocks + pp.challengeResolveDelayBlocks + pp.challengeResolveDeadlineBlocks;
    if (parsedParams.unbondingPeriodBlocks <= span) {
      bad(`params.unbondingPeriodBlocks (${parsedParams.unbondingPeriodBlocks}) must be greater than product.params challengeWindowBlocks + challengeResolveDelayBlocks + challengeResolveDeadlineBlocks (${span})`);
    }
  }
  return {
    chainId,
    genesisTime,
    treasury: (treasury as string | undefined) ?? TREASURY_ADDRESS,
    params: parsedParams,
    accounts: parsedAccounts,
    validators: parsedValidators,
    ...(parsedProduct === undefined ? {} : { product: parsedProduct }),
    ...(upgrades === undefined ? {} : { upgrades: decodeUpgrades(upgrades) }),
  };
}

/**
 * The `upgrades` section: names once each (a name this release does not know
 * is a later release's rule: parsed, and the node stops at its height),
 * heights from 1; sorted by height, then name.
 */
function decodeUpgrades(j: unknown): GenesisUpgrade[] {
  if (!Array.isArray(j)) bad('upgrades must be an array of {name, height}');
  const seen = new Set<string>();
  const out = j.map((x: unknown, i): GenesisUpgrade => {
    if (!isObj(x)) bad(`upgrades[${i}] must be an object`);
    only(x, `upgrades[${i}]`, ['name', 'height']);
    if (typeof x.name !== 'string' || !UPGRADE_NAME_RE.test(x.name)) bad(`upgrades[${i}].name must be 1 to 64 of lowercase letters, digits and "-", starting with a letter or digit`);
    if (seen.has(x.name)) bad(`upgrades[${i}].name ${x.name} appears twice`);
    seen.add(x.name);
    if (!isUint(x.height) || x.height < 1 || x.height > MAX_UPGRADE_HEIGHT) bad(`upgrades[${i}].height must be an integer from 1 to ${MAX_UPGRADE_HEIGHT}`);
    return { name: x.name, height: x.height };
  });
  return sortUpgrades(out);
}

/** By height, then name: the order the section is hashed in. */
function sortUpgrades(list: readonly GenesisUpgrade[]): GenesisUpgrade[] {
  return [...list].sort((a, b) => a.height - b.height || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

type ProductIntParam = Exclude<keyof ProductParams, 'rewardPerEpoch' | 'challengeBond'>;
/** Limits of the product layer's integer parameters: name → [min, max]. */
const PRODUCT_PARAM_LIMITS: Record<ProductIntParam, readonly [number, number]> = {
  quorumBps: [5_000, 9_999],
  attestationTtlBlocks: [1, 1_000_000_000],
  workWeightSmoothingBps: [0, 10_000],
  commissionBps: [0, 10_000],
  challengeBondRewardBps: [0, 100_000],
  challengeWindowBlocks: [1, 1_000_000_000],
  challengeResolveDelayBlocks: [0, 1_000_000_000],
  challengeResolveDeadlineBlocks: [1, 1_000_000_000],
  challengeSlashBps: [1, 10_000],
  challengeJailBlocks: [1, 1_000_000_000],
  challengerRewardBps: [0, 10_000],
  settlementFeeBps: [0, 10_000],
};

/** The `product` section: the oracle set (addresses once each, positive stake) and the rules (absent ones take the defaults). */
function decodeProductGenesis(j: unknown): ProductGenesis {
  if (!isObj(j)) bad('product must be an object');
  only(j, 'product', ['oracles', 'params']);
  if (j.oracles !== undefined && !Array.isArray(j.oracles)) bad('product.oracles must be an array');
  const seen = new Set<string>();
  const oracles = ((j.oracles as unknown[] | undefined) ?? []).map((x, i): OracleEntry => {
    if (!isObj(x)) bad(`product.oracles[${i}] must be an object`);
    only(x, `product.oracles[${i}]`, ['address', 'stake']);
    if (!isAddress(x.address)) bad(`product.oracles[${i}].address must be 40 lowercase hex`);
    if (seen.has(x.address)) bad(`product.oracles[${i}].address ${x.address} appears twice`);
    seen.add(x.address);
    const stake = amount(x.stake, `product.oracles[${i}].stake`);
    if (stake === 0n) bad(`product.oracles[${i}].stake must be positive`);
    return { address: x.address, stake };
  });
  if (j.params !== undefined && !isObj(j.params)) bad('product.params must be an object');
  const p: Record<string, unknown> = isObj(j.params) ? j.params : {};
  only(p, 'product.params', Object.keys(DEFAULT_PRODUCT_PARAMS));
  const ints = {} as Record<keyof typeof PRODUCT_PARAM_LIMITS, number>;
  for (const k of Object.keys(PRODUCT_PARAM_LIMITS) as (keyof typeof PRODUCT_PARAM_LIMITS)[]) {
    const v = p[k] ?? DEFAULT_PRODUCT_PARAMS[k];
    const [min, max] = PRODUCT_PARAM_LIMITS[k];
    if (!isUint(v) || v < min || v > max) bad(`product.params.${k} must be an integer from ${min} to ${max}`);
    ints[k] = v;
  }
  const amt = (k: 'rewardPerEpoch' | 'challengeBond'): bigint => (p[k] === undefined ? DEFAULT_PRODUCT_PARAMS[k] : amount(p[k], `product.params.${k}`));
  const params: ProductParams = { ...ints, rewardPerEpoch: amt('rewardPerEpoch'), challengeBond: amt('challengeBond') };
  return { oracles: [...oracles].sort((a, b) => (a.address < b.address ? -1 : 1)), params };
}

function governanceList(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isAddress)) bad('params.governance must be an array of addresses (40 lowercase hex)');
  if (new Set(v).size !== v.length) bad('params.governance lists an address twice');
  return [...v];
}

/**
 * State entries at height 0: accounts, validators (operator = rewardAddress,
 * or the validator's own address), the validator index and the set of epoch 0
 * (the same selection as every later epoch: active, positive power, the top
 * maxValidators).
 */
export function genesisEntries(g: Genesis): [string, StateValue][] {
  return [...genesisEntryStream(g)];
}

/** The entries of `genesisEntries`, in the same order, made one at a time (a large genesis is never held twice). */
export function* genesisEntryStream(g: Genesis): IterableIterator<[string, StateValue]> {
  for (const a of g.accounts) yield [accountKey(a.address), { balance: a.balance, nonce: 0 }];
  const validators: Validator[] = [];
  for (const v of g.validators) {
    const val = newValidator({ pubKey: v.pubKey, stake: v.stake, workWeight: v.workWeight, ...(v.rewardAddress === undefined ? {} : { rewardAddress: v.rewardAddress }) });
    validators.push(val);
    yield [validatorKey(val.id), val];
  }
  const index: ValidatorIndex = { ids: validators.map((v) => v.id).sort() };
  yield [VALIDATOR_INDEX_KEY, index];
  const epoch0: EpochRecord = { epoch: 0, startHeight: 1, validators: selectEpochValidators(validators, g.params.maxValidators) };
  yield [epochKey(0), epoch0];
  if (g.product !== undefined) {
    yield [ORACLE_SET_KEY, { version: 1, oracles: g.product.oracles }];
    yield [PRODUCT_PARAMS_KEY, g.product.params];
  }
  yield* upgradeGenesisEntries(g.upgrades);
}

/** The addresses of the public development accounts a genesis must not fund on a real chain (the first 100). */
export function devAccountAddresses(): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < 100; i++) out.add(devAccount(i).address);
  return out;
}

/** Whether the genesis funds or seats any of the public development keys (first 100 of each). */
export function usesDevKeys(g: Genesis): boolean {
  const devPubs = new Set<string>();
  for (let i = 0; i < 100; i++) devPubs.add(devValidator(i).publicKey);
  if (g.validators.some((v) => devPubs.has(v.pubKey))) return true;
  if (isScanned(g.accounts)) return g.accounts.fundsDevAccount;
  const devAddrs = devAccountAddresses();
  for (const a of g.accounts) if (devAddrs.has(a.address)) return true;
  return false;
}
