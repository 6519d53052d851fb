/**
 * A small in-process chain for the staking tests: real keys, real tx
 * signatures, real evidence signatures, the real state machine
 * (beginBlock → txs → endBlock) and the real state commitment.
 */
import { KEY_PREFIX, delegationKey, epochKey, unbondingKey, validatorKey, type StateValue } from '../../../src/codec/state.js';
import { envelopeSignBytes } from '../../../src/codec/envelope.js';
import { toDecodedTx, txSignBytes } from '../../../src/codec/tx.js';
import { validatorSetForHeight } from '../../../src/consensus/validatorSet.js';
import { createSigner, type Signer } from '../../../src/crypto/ed25519.js';
import { devAccount, devValidator, type DevKey } from '../../../src/crypto/keys.js';
import { BlockExecution, getAccount, type BlockContext } from '../../../src/state/execute.js';
import { DEFAULT_PARAMS, genesisEntries } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import type {
  Account,
  ChainParams,
  Commit,
  DecodedTx,
  Delegation,
  EpochRecord,
  Evidence,
  EvidenceMessageType,
  Genesis,
  SignedMessage,
  Tx,
  TxResult,
  UnbondingBucket,
  UnsignedTx,
  Validator,
} from '../../../src/types/index.js';

export const CHAIN = 'fastpos-devnet';
export const FEE_TO = 'f'.repeat(40);
export const FEE = 10n;

/** Governance account. */
export const GOV = devAccount(0);
/** Operators of the genesis validators 0..3. */
export const OPS = [10, 11, 12, 13].map((i) => devAccount(i));
export const VALS = [0, 1, 2, 3, 4, 5, 6].map((i) => devValidator(i));

export const TEST_PARAMS: ChainParams = {
  ...DEFAULT_PARAMS,
  governance: [GOV.address],
  epochLengthBlocks: 5,
  maxValidators: 3,
  unbondingPeriodBlocks: 10,
  minSelfBond: 100n,
  slashDoubleSignBps: 500,
  slashDowntimeBps: 100,
  jailDoubleSignBlocks: 50,
  jailDowntimeBlocks: 5,
  downtimeWindowBlocks: 6,
  downtimeMaxMissed: 3,
  evidenceMaxAgeBlocks: 8,
};

export const START_BALANCE = 1_000_000n;

/** Dev accounts 0..5 and the operators funded; validators 0..3 bonded with `stakes`, operated by OPS[i]. */
export function testGenesis(opts: { stakes?: bigint[]; params?: Partial<ChainParams> } = {}): Genesis {
  const stakes = opts.stakes ?? [4000n, 3000n, 2000n, 1000n];
  const accounts = [0, 1, 2, 3, 4, 5].map((i) => devAccount(i).address).concat(OPS.map((k) => k.address));
  return {
    chainId: CHAIN,
    genesisTime: 1_767_225_600_000,
    treasury: FEE_TO,
    params: { ...TEST_PARAMS, ...opts.params },
    accounts: accounts.map((address) => ({ address, balance: START_BALANCE })),
    validators: stakes.map((stake, i) => ({ pubKey: VALS[i]!.publicKey, stake, workWeight: 10_000, rewardAddress: OPS[i]!.address })),
  };
}

const signers = new Map<string, Signer>();
export function signerOf(k: DevKey): Signer {
  let s = signers.get(k.privateKey);
  if (s === undefined) {
    s = createSigner(k.privateKey);
    signers.set(k.privateKey, s);
  }
  return s;
}

/** A tx to be signed with the sender's nonce when its block is built. */
export interface TxSpec {
  readonly key: DevKey;
  readonly kind: Tx['kind'];
  readonly payload: Tx['payload'];
  readonly fee?: bigint;
}

export const spec = <K extends Tx['kind']>(key: DevKey, kind: K, payload: Extract<Tx, { kind: K }>['payload'], fee?: bigint): TxSpec =>
  fee === undefined ? { key, kind, payload } : { key, kind, payload, fee };

export function signTx(s: TxSpec, nonce: number, chainId = CHAIN): DecodedTx {
  const unsigned = { chainId, kind: s.kind, from: s.key.address, pubKey: s.key.publicKey, nonce, fee: s.fee ?? FEE, payload: s.payload } as UnsignedTx;
  return toDecodedTx({ ...unsigned, signature: signerOf(s.key).sign(txSignBytes(unsigned)) } as Tx);
}

/** A message signed by a validator key, as it would travel in an envelope. */
export function signedMessage(
  key: DevKey,
  m: { type?: EvidenceMessageType; height: number; round?: number; payload: Record<string, unknown>; chainId?: string; validatorId?: string },
): SignedMessage {
  const unsigned = {
    type: m.type ?? 'prevote',
    chainId: m.chainId ?? CHAIN,
    height: m.height,
    round: m.round ?? 0,
    validatorId: m.validatorId ?? key.address,
    payload: m.payload,
  };
  return { ...unsigned, signature: signerOf(key).sign(envelopeSignBytes(unsigned)) };
}

/** Two prevotes of `key` for two different blocks at `height`. */
export function doubleVote(key: DevKey, height: number, round = 0): Evidence {
  return {
    a: signedMessage(key, { height, round, payload: { blockHash: 'aa'.repeat(32) } }),
    b: signedMessage(key, { height, round, payload: { blockHash: 'bb'.repeat(32) } }),
  };
}

export interface BlockOpts {
  readonly evidence?: readonly Evidence[];
  /** Validators of the previous height's set that did not sign its certificate. */
  readonly absent?: readonly string[];
}

export class Chain {
  ws: WorldState;
  height = 0;

  constructor(readonly genesis: Genesis = testGenesis()) {
    this.ws = WorldState.fromEntries(genesisEntries(genesis));
  }

  get params(): ChainParams {
    return this.genesis.params;
  }

  ctx(height = this.height + 1): BlockContext {
    return { chainId: CHAIN, params: this.params, feeRecipient: FEE_TO, height };
  }

  /** The certificate of the previous height, signed by every member of its set except `absent`. */
  lastCommit(absent: readonly string[] = []): Commit | null {
    if (this.height === 0) return null;
    const set = validatorSetForHeight(this.ws, this.height, this.params);
    const signatures = set.validators.filter((v) => !absent.includes(v.id)).map((v) => ({ validatorId: v.id, signature: '00'.repeat(64) }));
    return { height: this.height, round: 0, blockHash: 'cd'.repeat(32), signatures };
  }

  /** Executes the next block (begin, txs signed with current nonces, end) and applies it. Returns the tx results. */
  block(specs: readonly TxSpec[] = [], opts: BlockOpts = {}): TxResult[] {
    const ex = this.execution(opts);
    for (const s of specs) ex.apply(signTx(s, getAccount(ex.state, s.key.address).nonce));
    ex.endBlock();
    this.commit(ex);
    return ex.results;
  }

  /** An execution of the next block after beginBlock, to drive by hand. */
  execution(opts: BlockOpts = {}): BlockExecution {
    const ex = new BlockExecution(this.ws, this.ctx());
    ex.beginBlock({ lastCommit: this.lastCommit(opts.absent), evidence: opts.evidence ?? [] });
    return ex;
  }

  commit(ex: BlockExecution): void {
    this.ws.apply(this.ws.diff(ex.changes));
    this.height++;
  }

  /** Empty blocks up to and including `height`. */
  advanceTo(height: number, opts: BlockOpts = {}): void {
    while (this.height < height) this.block([], opts);
  }

  validator(id: string): Validator {
    const v = this.ws.get(validatorKey(id)) as Validator | undefined;
    if (v === undefined) throw new Error(`no validator ${id}`);
    return v;
  }

  maybeValidator(id: string): Validator | undefined {
    return this.ws.get(validatorKey(id)) as Validator | undefined;
  }

  balance(address: string): bigint {
    return getAccount(this.ws, address).balance;
  }

  delegation(address: string): Delegation | undefined {
    return this.ws.get(delegationKey(address)) as Delegation | undefined;
  }

  bucket(height: number): UnbondingBucket | undefined {
    return this.ws.get(unbondingKey(height)) as UnbondingBucket | undefined;
  }

  epoch(n: number): EpochRecord | undefined {
    return this.ws.get(epochKey(n)) as EpochRecord | undefined;
  }
}

/** Tokens in existence: balances + self stakes + delegation pools + pending unbondings. */
export function supply(entries: Iterable<[string, StateValue]>): { supply: bigint; burned: bigint } {
  let total = 0n;
  let burned = 0n;
  for (const [k, v] of entries) {
    if (k.startsWith(KEY_PREFIX.account)) total += (v as Account).balance;
    else if (k.startsWith(KEY_PREFIX.validator)) {
      const val = v as Validator;
      total += val.stake + val.delegated;
      for (const s of val.slashes) burned += s.burned;
    } else if (k.startsWith(KEY_PREFIX.unbonding)) for (const e of (v as UnbondingBucket).entries) total += e.amount;
  }
  return { supply: total, burned };
}
