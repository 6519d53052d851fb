/**
 * Valid protocol objects for fuzzing, in wire form (as a receiver gets them
 * from `JSON.parse`): every tx kind signed for real by the dev accounts,
 * equivocation evidence signed by the dev validators, blocks with real
 * certificates (synthetic ones, and a real chain built by `buildBlock`),
 * envelopes, sync answers, state values, genesis documents, configs and the
 * files a node reads at start.
 */
import fc from 'fast-check';
import { stringify as yamlStringify } from 'yaml';
import { blockHash, commitHash, encodeBlock, evidenceListHash, finalizedBlockJson } from '../../src/codec/block.js';
import { canonicalJson } from '../../src/codec/canonical.js';
import { encodeFinalizePayload, encodeProposalPayload, envelopeSignBytes } from '../../src/codec/envelope.js';
import { txRoot } from '../../src/codec/merkle.js';
import { KEY_PREFIX, VALIDATOR_INDEX_KEY, encodeStateValue, type StateValue } from '../../src/codec/state.js';
import { decodeEvidence, decodeTx, encodeEvidence, MAX_JAIL_BLOCKS, MAX_WORK_WEIGHT } from '../../src/codec/tx.js';
import { signTx } from '../../src/client/sign.js';
import { CONFIG_KEYS, flagName, envVarName, renderConfigYaml, type ConfigKey, type ConfigKeySpec, type NodeConfig } from '../../src/config/config.js';
import { buildBlock, type BlockEnv, type ChainTip } from '../../src/consensus/block.js';
import { signPrecommit, sortSignatures } from '../../src/consensus/commit.js';
import { buildValidatorSet } from '../../src/consensus/validatorSet.js';
import { createSigner, publicKeyFromPrivate, type Signer } from '../../src/crypto/ed25519.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { addressFromPubKey, devAccount, devValidator } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS, MAX_UNBONDING_BLOCKS, defaultDevnetGenesis, encodeGenesis, genesisEntries, genesisHash } from '../../src/state/genesis.js';
import { WorldState } from '../../src/state/worldState.js';
import type {
  Block,
  ChainParams,
  Commit,
  DecodedTx,
  Evidence,
  EvidenceMessageType,
  FinalizedBlock,
  Genesis,
  SignedMessage,
  TxKind,
  UnsignedTx,
  Validator,
} from '../../src/types/index.js';
import { hexChars, type Json } from './json.js';

export const CHAIN = 'fastpos-devnet';
const Z64 = '0'.repeat(64);

/** A wire value as a receiver holds it: parsed from its canonical text. */
export const wire = (v: unknown): Json => JSON.parse(canonicalJson(v)) as Json;

// ---------------------------------------------------------------- keys

interface Key {
  readonly address: string;
  readonly publicKey: string;
  readonly signer: Signer;
}
const keyOf = (k: { privateKey: string; publicKey: string; address: string }): Key => ({ address: k.address, publicKey: k.publicKey, signer: createSigner(k.privateKey) });
export const ACCOUNTS: readonly Key[] = Array.from({ length: 10 }, (_, i) => keyOf(devAccount(i)));
export const VALIDATORS: readonly Key[] = Array.from({ length: 4 }, (_, i) => keyOf(devValidator(i)));

// ---------------------------------------------------------------- fields

export const hex40 = hexChars(40);
export const hex64 = hexChars(64);
export const hex128 = hexChars(128);
export const address = fc.oneof(hex40, fc.constantFrom(...ACCOUNTS.map((k) => k.address)), fc.constantFrom(...VALIDATORS.map((k) => k.address)));
export const validatorId = fc.oneof(fc.constantFrom(...VALIDATORS.map((k) => k.address)), hex40);
const MAX_AMOUNT = 10n ** 39n - 1n;
export const positiveAmount = fc.oneof(fc.bigInt({ min: 1n, max: 1_000_000n }), fc.bigInt({ min: 1n, max: MAX_AMOUNT }), fc.constant(MAX_AMOUNT));
export const anyAmount = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: MAX_AMOUNT }));
export const nonce = fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
export const height = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
export const round = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 1_000_000 }));
export const timestamp = fc.oneof(fc.constant(1_767_225_600_000), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
/** Chain ids: mostly the devnet's, also any 1–64 UTF-16 units (quotes, controls, lone surrogates). */
export const chainId = fc.oneof(
  { weight: 4, arbitrary: fc.constant(CHAIN) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 32 }).filter((s) => s.length <= 64) },
  { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\u0000\n', '\ud800', 'é€😀', 'x'.repeat(64)) },
);

// ---------------------------------------------------------------- a real chain

/** A real chain of four blocks on a four-validator devnet, built and executed by `buildBlock`. */
export const REAL_CHAIN: readonly FinalizedBlock[] = (() => {
  const genesis = defaultDevnetGenesis({ validators: 4 });
  const state = WorldState.fromEntries(genesisEntries(genesis));
  const envOf = (): BlockEnv => {
    const validators: Validator[] = [];
    for (const [k, v] of state.allEntries()) if (k.startsWith(KEY_PREFIX.validator)) validators.push(v as Validator);
    const byId = new Map(validators.map((v) => [v.id, v]));
    return { chainId: genesis.chainId, params: genesis.params, treasury: genesis.treasury, set: buildValidatorSet(validators), validator: (id) => byId.get(id) };
  };
  const sign = (from: number, kind: ExecutableKind, n: number, payload: Payload): DecodedTx => {
    const k = ACCOUNTS[from]!;
    return decodeTx(signTx(k.signer, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce: n, fee: 10n, payload } as UnsignedTx).tx);
  };
  const doubleVote = (v: number, h: number): Evidence => {
    const base = { type: 'prevote' as const, chainId: CHAIN, height: h, round: 0, validatorId: VALIDATORS[v]!.address };
    return { a: signMessage(VALIDATORS[v]!, { ...base, payload: { blockHash: 'aa'.repeat(32) } }), b: signMessage(VALIDATORS[v]!, { ...base, payload: { blockHash: 'bb'.repeat(32) } }) };
  };
  const plan: { txs: DecodedTx[]; evidence?: Evidence[] }[] = [
    { txs: [sign(1, 'transfer', 0, { to: ACCOUNTS[2]!.address, amount: 1000n }), sign(2, 'transfer', 0, { to: ACCOUNTS[3]!.address, amount: 7n })] },
    {
      txs: [
        sign(0, 'validator_set_work_weight', 0, { validatorId: VALIDATORS[1]!.address, workWeight: 12_000 }),
        sign(3, 'delegation_delegate', 0, { validatorId: VALIDATORS[2]!.address, amount: 5_000n }),
        sign(4, 'transfer', 0, { to: ACCOUNTS[5]!.address, amount: 10n ** 30n }),
      ],
    },
    { txs: [sign(3, 'delegation_undelegate', 1, { validatorId: VALIDATORS[2]!.address, amount: 100n })], evidence: [doubleVote(3, 1)] },
    { txs: [] },
  ];
  let tip: ChainTip = { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null };
  const out: FinalizedBlock[] = [];
  for (const step of plan) {
    const built = buildBlock({ env: envOf(), state, tip, round: 0, timestamp: tip.timestamp + 1000, candidates: step.txs, ...(step.evidence === undefined ? {} : { evidence: step.evidence }) });
    const commit = certify(CHAIN, tip.height + 1, 0, built.hash, [0, 1, 2, 3]);
    state.apply(state.diff(built.diff.changes));
    out.push({ block: built.block, hash: built.hash, results: built.results, commit });
    tip = { height: tip.height + 1, hash: built.hash, timestamp: built.block.header.timestamp, commit };
  }
  return out;
})();

// ---------------------------------------------------------------- evidence

export function signMessage(v: Key, m: Omit<SignedMessage, 'signature'>): SignedMessage {
  return { ...m, signature: v.signer.sign(envelopeSignBytes(m)) };
}

const votePayloads = fc.tuple(fc.oneof(hex64, fc.constant(null)), fc.oneof(hex64, fc.constant(null))).map(([x, y]) => {
  const second = x === y ? (x === null ? Z64 : null) : y;
  return [{ blockHash: x }, { blockHash: second }] as const;
});

/** Proposal payloads: real ones from the chain below, and any objects (evidence does not look inside). */
const proposalPayloads = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...(() => realProposalPayloads())()),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<Record<string, Json>>,
    ),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<Record<string, Json>>,
  )
  .map(([x, y]) => {
    const a = wire(x) as Record<string, Json>;
    const b = wire(y) as Record<string, Json>;
    if (canonicalJson(a) === canonicalJson(b)) b['differs'] = 1;
    return [a, b] as const;
  });

/** Two different messages of one validator for one position, signed for real, as domain evidence. */
export const evidence: fc.Arbitrary<Evidence> = fc
  .record({
    v: fc.nat({ max: VALIDATORS.length - 1 }),
    type: fc.constantFrom<EvidenceMessageType>('prevote', 'precommit', 'proposal'),
    chainId,
    height,
    round,
    votes: votePayloads,
    proposals: proposalPayloads,
  })
  .map(({ v, type, chainId: c, height: h, round: r, votes, proposals }) => {
    const key = VALIDATORS[v]!;
    const [pa, pb] = type === 'proposal' ? proposals : votes;
    const base = { type, chainId: c, height: h, round: r, validatorId: key.address };
    return { a: signMessage(key, { ...base, payload: pa }), b: signMessage(key, { ...base, payload: pb }) };
  });

export const evidenceWire = evidence.map((e) => wire(encodeEvidence(e)));

// ---------------------------------------------------------------- txs

type Payload = UnsignedTx['payload'];

/** Printable ASCII without spaces: what a proof reference or a settlement reference is made of. */
const printable = (max: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: max });

const payloads: Record<TxKind, fc.Arbitrary<Payload>> = {
  transfer: fc.record({ to: address, amount: positiveAmount }),
  validator_set_work_weight: fc.record({ validatorId, workWeight: fc.oneof(fc.nat({ max: MAX_WORK_WEIGHT }), fc.constantFrom(0, 10_000, MAX_WORK_WEIGHT)) }),
  validator_bond: fc.record({ pubKey: fc.oneof(hex64, fc.constantFrom(...VALIDATORS.map((k) => k.publicKey))), amount: positiveAmount }),
  validator_unbond: fc.record({ validatorId, amount: positiveAmount }),
  delegation_delegate: fc.record({ validatorId, amount: positiveAmount }),
  delegation_undelegate: fc.record({ validatorId, amount: positiveAmount }),
  validator_slash: fc.oneof(fc.record({ validatorId, fractionBps: fc.integer({ min: 1, max: 10_000 }) }), fc.record({ evidence })),
  validator_jail: fc.record({ validatorId, jailBlocks: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: MAX_JAIL_BLOCKS })) }),
  validator_unjail: fc.record({ validatorId }),
  product_attest: fc.record({ validatorId, epoch: fc.nat({ max: 1_000_000 }), score: fc.nat({ max: MAX_WORK_WEIGHT }), proofRef: printable(256) }),
  product_challenge: fc.record({ proofId: hex64 }),
  product_resolve_challenge: fc.record({ challengeId: hex64, upheld: fc.boolean() }),
  product_settle: fc.record({ validatorId, amount: positiveAmount, reference: printable(128) }),
  product_set_oracles: fc.uniqueArray(fc.record({ address, stake: positiveAmount }), { maxLength: 5, selector: (o) => o.address }).map((oracles) => ({ oracles })),
  upgrade_schedule: fc.record({ name: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/), height: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000_000_000 })) }),
};
export type ExecutableKind = keyof typeof payloads;
export const EXECUTABLE: readonly ExecutableKind[] = Object.keys(payloads) as ExecutableKind[];

/** A tx of `kind` signed for real by a dev account (wire JSON). */
export function txOf(kind: ExecutableKind): fc.Arbitrary<Json> {
  return fc
    .record({ from: fc.nat({ max: ACCOUNTS.length - 1 }), chainId, nonce, fee: anyAmount, payload: payloads[kind] })
    .map(({ from, chainId: c, nonce: n, fee, payload }) => {
      const k = ACCOUNTS[from]!;
      const unsigned = { chainId: c, kind, from: k.address, pubKey: k.publicKey, nonce: n, fee, payload } as UnsignedTx;
      return wire(signTx(k.signer, unsigned).tx);
    });
}

export const anyTx: fc.Arbitrary<Json> = fc.oneof(...EXECUTABLE.map((k) => ({ weight: k === 'transfer' ? 4 : 1, arbitrary: txOf(k) })));

// ---------------------------------------------------------------- blocks and certificates

/** A certificate for (height, round, hash), signed by the given dev validators. */
export function certify(c: string, h: number, r: number, hash: string, signers: readonly number[]): Commit {
  const signatures = sortSignatures(signers.map((i) => signPrecommit({ chainId: c, height: h, round: r, blockHash: hash, validatorId: VALIDATORS[i]!.address, signer: VALIDATORS[i]!.signer })));
  return { height: h, round: r, blockHash: hash, signatures };
}

const signerSet = fc.subarray([0, 1, 2, 3], { minLength: 1 });
const RESULT_ERRORS = ['INSUFFICIENT_FUNDS', 'VALIDATOR_JAILED', 'FORBIDDEN', 'NOT_JAILED'];

/** A finalized block whose header commits to its body, with real tx, evidence and precommit signatures. */
export const syntheticFinalizedBlock: fc.Arbitrary<FinalizedBlock> = fc
  .record({
    chainId,
    height,
    round: fc.nat({ max: 20 }),
    timestamp,
    prevHash: hex64,
    proposer: validatorId,
    stateRoot: hex64,
    validatorSetHash: hex64,
    txs: fc.array(anyTx, { maxLength: 4 }),
    results: fc.array(fc.option(fc.constantFrom(...RESULT_ERRORS), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    lastSigners: fc.option(signerSet, { nil: null }),
    evidence: fc.array(evidence, { maxLength: 2 }),
    signers: signerSet,
    commitRound: fc.nat({ max: 20 }),
  })
  .map((p) => {
    const txs: DecodedTx[] = p.txs.map((t) => decodeTx(t));
    const lastCommit = p.lastSigners === null || p.height === 1 ? null : certify(p.chainId, p.height - 1, p.round, p.prevHash, p.lastSigners);
    const header = {
      version: 1,
      chainId: p.chainId,
      height: p.height,
      round: p.round,
      timestamp: p.timestamp,
      prevHash: p.prevHash,
      proposer: p.proposer,
      txRoot: txRoot(txs.map((d) => d.id)),
      txCount: txs.length,
      stateRoot: p.stateRoot,
      validatorSetHash: p.validatorSetHash,
      lastCommitHash: commitHash(lastCommit),
      evidenceHash: evidenceListHash(p.evidence),
    };
    const block: Block = { header, txs, lastCommit, evidence: p.evidence };
    const hash = blockHash(header);
    const results = txs.map((_, i) => (p.results[i] === undefined ? { success: true } : { success: false, error: p.results[i]! }));
    return { block, hash, results, commit: certify(p.chainId, p.height, Math.max(p.round, p.commitRound), hash, p.signers) };
  });

function realProposalPayloads(): Json[] {
  return REAL_CHAIN.map((fb) => wire(encodeProposalPayload(fb.block, fb.hash, -1)));
}

export const finalizedBlock: fc.Arbitrary<FinalizedBlock> = fc.oneof({ weight: 3, arbitrary: syntheticFinalizedBlock }, { weight: 1, arbitrary: fc.constantFrom(...REAL_CHAIN) });
export const finalizedBlockWire = finalizedBlock.map((fb) => JSON.parse(finalizedBlockJson(fb)) as Json);
export const blockWire = finalizedBlock.map((fb) => wire(encodeBlock(fb.block)));
export const commitWire = finalizedBlock.map((fb) => wire(fb.commit));

// ---------------------------------------------------------------- envelopes

interface EnvelopeCase {
  readonly envelope: Json;
}

function envelopeOf(v: number, m: { type: 'proposal' | 'prevote' | 'precommit' | 'finalize'; chainId: string; height: number; round: number; payload: Record<string, unknown> }): Json {
  const key = VALIDATORS[v]!;
  const unsigned = { ...m, validatorId: key.address, payload: wire(m.payload) as Record<string, unknown> };
  return wire({ ...unsigned, signature: key.signer.sign(envelopeSignBytes(unsigned)) });
}

export const voteEnvelope: fc.Arbitrary<Json> = fc
  .record({ v: fc.nat({ max: 3 }), type: fc.constantFrom<'prevote' | 'precommit'>('prevote', 'precommit'), chainId, height, round, hash: fc.oneof(hex64, fc.constant(null)) })
  .map((p) => envelopeOf(p.v, { type: p.type, chainId: p.chainId, height: p.height, round: p.round, payload: { blockHash: p.hash } }));

/** A proposal of a block: a fresh one (validRound -1, block round = envelope round) or one proposed again from an earlier round. */
export const proposalEnvelope: fc.Arbitrary<Json> = fc
  .record({ v: fc.nat({ max: 3 }), fb: finalizedBlock, again: fc.boolean(), extraRounds: fc.integer({ min: 1, max: 5 }) })
  .map(({ v, fb, again, extraRounds }) => {
    const r = fb.block.header.round;
    const round = again ? r + extraRounds : r;
    const validRound = again ? round - 1 : -1;
    return envelopeOf(v, { type: 'proposal', chainId: fb.block.header.chainId, height: fb.block.header.height, round, payload: encodeProposalPayload(fb.block, fb.hash, validRound) });
  });

export const finalizeEnvelope: fc.Arbitrary<Json> = fc
  .record({ v: fc.nat({ max: 3 }), fb: finalizedBlock })
  .map(({ v, fb }) => envelopeOf(v, { type: 'finalize', chainId: fb.block.header.chainId, height: fb.block.header.height, round: fb.commit.round, payload: encodeFinalizePayload(fb) }));

export const anyEnvelope: fc.Arbitrary<Json> = fc.oneof({ weight: 2, arbitrary: voteEnvelope }, { weight: 2, arbitrary: proposalEnvelope }, { weight: 1, arbitrary: finalizeEnvelope });
export type { EnvelopeCase };

// ---------------------------------------------------------------- sync answers

/** A `/sync/blocks` answer: consecutive blocks of the real chain, or synthetic ones. */
export const syncBlocksWire: fc.Arbitrary<Json> = fc.oneof(
  fc.tuple(fc.nat({ max: REAL_CHAIN.length - 1 }), fc.nat({ max: REAL_CHAIN.length })).map(([from, n]) => REAL_CHAIN.slice(from, from + n).map((fb) => JSON.parse(finalizedBlockJson(fb)) as Json)),
  fc.array(finalizedBlockWire, { maxLength: 3 }),
);

export const syncStatusWire: fc.Arbitrary<Json> = fc.record({ chainId, genesisHash: hex64, height: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })), hash: hex64, syncing: fc.boolean() });

// ---------------------------------------------------------------- state values

const validatorValue = fc.record({
  id: hex40,
  pubKey: hex64,
  rewardAddress: hex40,
  stake: anyAmount,
  delegated: anyAmount,
  delegatorShares: anyAmount,
  workWeight: fc.nat({ max: MAX_WORK_WEIGHT }),
  status: fc.constantFrom('active', 'jailed', 'unbonding') as fc.Arbitrary<'active' | 'jailed' | 'unbonding'>,
  jailedUntil: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  missed: fc.array(fc.nat({ max: 1_000_000 }), { maxLength: 5 }),
  slashes: fc.array(
    fc.record({
      height: fc.nat(),
      infractionHeight: fc.nat(),
      reason: fc.constantFrom('double_sign', 'downtime', 'governance') as fc.Arbitrary<'double_sign' | 'downtime' | 'governance'>,
      fractionBps: fc.nat({ max: 10_000 }),
      burned: anyAmount,
    }),
    { maxLength: 3 },
  ),
});

/** A state entry `[key, canonical JSON text]` of every kind of key. */
export const stateEntry: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.record({ a: hex40, balance: anyAmount, nonce: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }).map(({ a, balance, nonce: n }) => entry(KEY_PREFIX.account + a, { balance, nonce: n })),
  validatorValue.map((v) => entry(KEY_PREFIX.validator + v.id, v)),
  fc.record({ d: hex40, shares: fc.dictionary(hex40, anyAmount, { maxKeys: 4 }) }).map(({ d, shares }) => entry(KEY_PREFIX.delegation + d, { shares })),
  fc
    .record({ h: fc.nat(), entries: fc.array(fc.record({ validatorId: hex40, delegator: hex40, amount: anyAmount, creationHeight: fc.nat() }), { maxLength: 3 }) })
    .map(({ h, entries }) => entry(KEY_PREFIX.unbonding + h, { entries })),
  fc
    .record({ epoch: fc.nat(), startHeight: fc.nat(), validators: fc.array(fc.record({ id: hex40, pubKey: hex64, votingPower: anyAmount, proposerWeight: anyAmount }), { maxLength: 4 }) })
    .map((e) => entry(KEY_PREFIX.epoch + e.epoch, e)),
  fc.record({ v: hex40, h: fc.nat(), evidenceId: hex64, usedAt: fc.nat() }).map(({ v, h, evidenceId, usedAt }) => entry(`${KEY_PREFIX.evidenceUsed}${v}/${h}`, { evidenceId, usedAt })),
  fc
    .record({ v: hex40, punishedAt: fc.nat(), infractionHeight: fc.nat(), unjailedAt: fc.option(fc.nat(), { nil: null }) })
    .map(({ v, ...d }) => entry(KEY_PREFIX.doubleSign + v, d)),
  fc.array(hex40, { maxLength: 5 }).map((ids) => entry(VALIDATOR_INDEX_KEY, { ids: [...ids].sort() })),
);

function entry(key: string, value: unknown): [string, string] {
  return [key, encodeStateValue(key, value as StateValue)];
}

/** State keys a damaged store could hold: every prefix, and others. */
export const stateKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...Object.values(KEY_PREFIX), VALIDATOR_INDEX_KEY, 'index/', 'acct', '', 'val/val/', 'index/validators/x'),
  fc.tuple(fc.constantFrom(...Object.values(KEY_PREFIX)), fc.string({ maxLength: 50 })).map(([p, s]) => p + s),
  fc.string({ maxLength: 20 }),
);

// ---------------------------------------------------------------- genesis

type NumericParam = { [K in keyof ChainParams]: ChainParams[K] extends number ? K : never }[keyof ChainParams];
const PARAM_RANGES: Record<NumericParam, [number, number]> = {
  maxBlockTxs: [1, 1_000_000],
  maxBlockBytes: [1024, 100_000_000],
  maxTxBytes: [512, 1_000_000],
  epochLengthBlocks: [1, 1_000_000_000_000],
  maxValidators: [1, 100_000],
  unbondingPeriodBlocks: [1, MAX_UNBONDING_BLOCKS],
  slashDoubleSignBps: [0, 10_000],
  slashDowntimeBps: [0, 10_000],
  jailDoubleSignBlocks: [1, 1_000_000_000_000],
  jailDowntimeBlocks: [1, 1_000_000_000_000],
  downtimeWindowBlocks: [1, 1_000_000_000_000],
  downtimeMaxMissed: [0, 1_000_000_000_000],
  evidenceMaxAgeBlocks: [1, MAX_UNBONDING_BLOCKS],
};

const genesisParams: fc.Arbitrary<ChainParams> = fc
  .record({
    nums: fc.record(Object.fromEntries(Object.entries(PARAM_RANGES).map(([k, [lo, hi]]) => [k, fc.oneof(fc.constant(DEFAULT_PARAMS[k as NumericParam]), fc.integer({ min: lo, max: hi }))])) as Record<NumericParam, fc.Arbitrary<number>>),
    minFee: anyAmount,
    minSelfBond: fc.bigInt({ min: 0n, max: 1000n }),
    feeRecipient: fc.constantFrom<'proposer' | 'treasury'>('proposer', 'treasury'),
    governance: fc.uniqueArray(hex40, { maxLength: 3 }),
  })
  .map(({ nums, ...rest }) => {
    const p = { ...DEFAULT_PARAMS, ...nums, ...rest } as ChainParams;
    return p.evidenceMaxAgeBlocks > p.unbondingPeriodBlocks ? { ...p, evidenceMaxAgeBlocks: p.unbondingPeriodBlocks } : p;
  });

export const genesis: fc.Arbitrary<Genesis> = fc.oneof(
  fc.constant(defaultDevnetGenesis()),
  fc
    .record({
      chainId: fc.stringMatching(/^[a-zA-Z0-9._-]{1,64}$/),
      genesisTime: timestamp,
      treasury: hex40,
      params: genesisParams,
      accounts: fc.uniqueArray(fc.record({ address: hex40, balance: anyAmount }), { maxLength: 5, selector: (a) => a.address }),
      validators: fc.uniqueArray(
        fc.record({ pubKey: hex64, stake: fc.bigInt({ min: 1000n, max: MAX_AMOUNT }), workWeight: fc.nat({ max: MAX_WORK_WEIGHT }), rewardAddress: fc.option(hex40, { nil: undefined }) }),
        { minLength: 1, maxLength: 4, selector: (v) => v.pubKey },
      ),
    })
    .map((g) => ({ ...g, validators: g.validators.map(({ rewardAddress, ...v }) => (rewardAddress === undefined ? v : { ...v, rewardAddress })) })),
);
export const genesisWire = genesis.map((g) => wire(encodeGenesis(g)));

// ---------------------------------------------------------------- config

/** A valid value of a config key (strings as YAML and flags take them). */
function configValue(spec: ConfigKeySpec): fc.Arbitrary<string | number | boolean> {
  switch (spec.type) {
    case 'integer':
      return fc.oneof(fc.constantFrom(spec.min, spec.max, spec.default), fc.integer({ min: spec.min, max: spec.max }));
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...spec.values);
    case 'string':
    case 'optional-string': {
      const min = spec.minLength ?? 1;
      // Values that start with "--" read as the next flag, and "" unsets an optional key: neither is a value.
      const s = fc.oneof(fc.string({ minLength: min, maxLength: min + 20 }), fc.string({ unit: 'grapheme', minLength: min, maxLength: min + 5 }), fc.constantFrom('.fastpos', 'data dir/é', '/var/lib/fastpos'));
      return s.filter((x) => x.length >= min && x !== '' && !x.startsWith('--') && !x.startsWith('-') && !x.includes('\u0000'));
    }
  }
}

const configKeys = Object.keys(CONFIG_KEYS) as ConfigKey[];

/** A valid value of a key: keys whose strings have a syntax of their own get values in it. */
function configValueOf(k: ConfigKey): fc.Arbitrary<string | number | boolean> {
  if (k === 'corsOrigins') return fc.constantFrom('*', 'https://explorer.example', 'http://localhost:3000,https://a.example:8443');
  return configValue(CONFIG_KEYS[k]);
}

export interface ConfigInput {
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly file: string | undefined;
}

/** Flags, environment variables and a config file, each setting some keys to valid values. */
export const configInput: fc.Arbitrary<ConfigInput> = fc
  .record({
    flags: fc.dictionary(fc.constantFrom(...configKeys), fc.constant(null), { maxKeys: 6 }),
    env: fc.dictionary(fc.constantFrom(...configKeys), fc.constant(null), { maxKeys: 6 }),
    file: fc.option(fc.dictionary(fc.constantFrom(...configKeys), fc.constant(null), { maxKeys: 10 }), { nil: undefined }),
    values: fc.record(Object.fromEntries(configKeys.map((k) => [k, configValueOf(k)])) as Record<ConfigKey, fc.Arbitrary<string | number | boolean>>),
    inline: fc.boolean(),
    rendered: fc.boolean(),
  })
  .map(({ flags, env, file, values, inline, rendered }) => {
    const argv: string[] = [];
    for (const k of Object.keys(flags) as ConfigKey[]) {
      const v = values[k];
      if (typeof v === 'boolean') argv.push(v ? flagName(k) : `--no-${flagName(k).slice(2)}`);
      else if (inline) argv.push(`${flagName(k)}=${v}`);
      else argv.push(flagName(k), String(v));
    }
    const envOut: Record<string, string> = {};
    for (const k of Object.keys(env) as ConfigKey[]) envOut[envVarName(k)] = String(values[k]);
    let text: string | undefined;
    if (file !== undefined) {
      const chosen = Object.fromEntries((Object.keys(file) as ConfigKey[]).map((k) => [k, values[k]])) as Partial<NodeConfig>;
      text = rendered ? renderConfigYaml(chosen) : yamlStringify(chosen);
    }
    return { argv, env: envOut, file: text };
  });

// ---------------------------------------------------------------- files

export const keyFileText: fc.Arbitrary<string> = fc.tuple(hex64, fc.nat({ max: 3 })).map(([seed, form]) => {
  const publicKey = publicKeyFromPrivate(seed);
  const full = { type: 'ed25519', privateKey: seed, publicKey, address: addressFromPubKey(publicKey) };
  // As `fastpos keys generate` writes it, compact, with only the private key, or without the type.
  const value = form === 0 ? full : form === 1 ? { privateKey: seed } : form === 2 ? { privateKey: seed, publicKey, address: full.address } : full;
  return form === 3 ? JSON.stringify(value) : JSON.stringify(value, null, 2) + '\n';
});

export const pendingEvidenceText: fc.Arbitrary<string> = fc.array(evidenceWire, { maxLength: 3 }).map((list) => JSON.stringify({ evidence: list }));

/** Checksum of a stored guard state, as the guard file holds it. */
export function guardChecksum(state: unknown): string {
  return sha256Hex('fastpos/privval/v1\n' + canonicalJson(state));
}

const signedRecord = fc.record({ height, round, step: fc.constantFrom('proposal', 'prevote', 'precommit'), blockHash: fc.oneof(hex64, fc.constant(null)), signature: hex128 });

/** A stored guard state: the last signature per validator, and maybe a lock (without its block, as written now). */
export const guardState: fc.Arbitrary<Json> = fc
  .record({
    last: fc.dictionary(validatorId, signedRecord, { maxKeys: 2 }),
    lock: fc.option(fc.record({ height, round, blockHash: hex64 }), { nil: null }),
  })
  .map((s) => wire(s));

export const guardFileText: fc.Arbitrary<string> = guardState.map((state) => JSON.stringify({ state, checksum: guardChecksum(state) }));

export { Z64 };
