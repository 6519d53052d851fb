/**
 * Block building and validation (consensus/block.ts) on a real 4-validator
 * devnet state: real signed transfers, real precommit signatures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BLOCK_VERSION, commitHash } from '../../../src/codec/block.js';
import { txRoot } from '../../../src/codec/merkle.js';
import { KEY_PREFIX } from '../../../src/codec/state.js';
import { toDecodedTx, txSignBytes } from '../../../src/codec/tx.js';
import { buildBlock, validateBlock, type BlockEnv, type ChainTip } from '../../../src/consensus/block.js';
import { signPrecommit, sortSignatures, verifyCommit } from '../../../src/consensus/commit.js';
import { selectProposer } from '../../../src/consensus/proposer.js';
import { buildValidatorSet } from '../../../src/consensus/validatorSet.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { addressFromPubKey, devValidator } from '../../../src/crypto/keys.js';
import { ErrorCode } from '../../../src/errors.js';
import { getAccount } from '../../../src/state/execute.js';
import { defaultDevnetGenesis, genesisEntries, genesisHash } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { Block, BlockHeader, ChainParams, Commit, DecodedTx, SetWorkWeightTx, TransferTx, Validator } from '../../../src/types/index.js';
import { CHAIN, acct, transfer } from '../../helpers/fixtures.js';
import { errorCodeOf } from '../../helpers/util.js';

// ---------------------------------------------------------------- the chain

const genesis = defaultDevnetGenesis({ validators: 4 });
const GENESIS_BALANCE = 1_000_000_000_000n;

function envFor(state: WorldState, params: ChainParams = genesis.params): BlockEnv {
  const validators: Validator[] = [];
  for (const [k, v] of state.allEntries()) if (k.startsWith(KEY_PREFIX.validator)) validators.push(v as Validator);
  const byId = new Map(validators.map((v) => [v.id, v]));
  return { chainId: genesis.chainId, params, treasury: genesis.treasury, set: buildValidatorSet(validators), validator: (id) => byId.get(id) };
}

const validatorSigners = [0, 1, 2, 3].map((i) => ({ id: devValidator(i).address, signer: createSigner(devValidator(i).privateKey) }));

/** The certificate of a block, signed by the dev validators with the given indices. */
function certify(height: number, round: number, blockHash: string, signers = [0, 1, 2, 3]): Commit {
  const signatures = sortSignatures(
    signers.map((i) => signPrecommit({ chainId: genesis.chainId, height, round, blockHash, validatorId: validatorSigners[i]!.id, signer: validatorSigners[i]!.signer })),
  );
  return { height, round, blockHash, signatures };
}

const genesisState = WorldState.fromEntries(genesisEntries(genesis));
const genesisTip: ChainTip = { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null };
const env0 = envFor(genesisState);

// Block 1: one transfer, certified by all four validators, applied to a copy of the genesis state.
const block1 = buildBlock({
  env: env0,
  state: genesisState,
  tip: genesisTip,
  round: 0,
  timestamp: genesis.genesisTime + 1000,
  candidates: [transfer({ from: 0, to: acct(1).address, amount: 1000n, nonce: 0 })],
});
const commit1 = certify(1, 0, block1.hash);
/** State after block 1 (never mutated by the tests: validateBlock and buildBlock only compute diffs). */
const state1 = WorldState.fromEntries(genesisEntries(genesis));
state1.apply(state1.diff(block1.diff.changes));
const tip1: ChainTip = { height: 1, hash: block1.hash, timestamp: block1.block.header.timestamp, commit: commit1 };
const env1 = envFor(state1);

/** Three good transfers on top of block 1 (account 0 has used nonce 0). */
const goodTxs: DecodedTx[] = [
  transfer({ from: 0, to: acct(5).address, amount: 10n, nonce: 1 }),
  transfer({ from: 2, to: acct(6).address, amount: 20n, nonce: 0 }),
  transfer({ from: 3, to: acct(7).address, amount: 30n, nonce: 0 }),
];
const good2 = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1000, candidates: goodTxs });

// ---------------------------------------------------------------- helpers

const codeOf = errorCodeOf;

function validate2(block: Block, env = env1): string {
  return codeOf(() => validateBlock({ env, state: state1, tip: tip1, block }));
}

function withHeader(block: Block, patch: Partial<BlockHeader>): Block {
  return { ...block, header: { ...block.header, ...patch } };
}

/** The block with other txs, with txCount and txRoot made consistent again (state root left as is). */
function withTxs(block: Block, txs: DecodedTx[]): Block {
  return { ...block, txs, header: { ...block.header, txCount: txs.length, txRoot: txRoot(txs.map((d) => d.id)) } };
}

function otherValidator(id: string): string {
  const other = env1.set.validators.find((v) => v.id !== id);
  assert.ok(other);
  return other.id;
}

const OTHER_HASH = 'ab'.repeat(32);

/** A transfer signed with any private seed (here: a validator key, whose address holds its fees). */
function signedTransfer(seed: string, p: { nonce: number; to: string; amount: bigint; fee: bigint }): DecodedTx {
  const signer = createSigner(seed);
  const unsigned: Omit<TransferTx, 'signature'> = {
    chainId: CHAIN, kind: 'transfer', from: addressFromPubKey(signer.publicKey), pubKey: signer.publicKey,
    nonce: p.nonce, fee: p.fee, payload: { to: p.to, amount: p.amount },
  };
  return toDecodedTx({ ...unsigned, signature: signer.sign(txSignBytes(unsigned)) });
}

// ---------------------------------------------------------------- tests

describe('test chain setup', () => {
  it('default: block 1 is valid on genesis and its certificate verifies', () => {
    assert.equal(codeOf(() => validateBlock({ env: env0, state: genesisState, tip: genesisTip, block: block1.block })), 'OK');
    assert.equal(verifyCommit({ chainId: CHAIN, set: env0.set, commit: commit1, height: 1, blockHash: block1.hash }), env0.set.totalPower);
    assert.equal(env0.set.validators.length, 4);
    assert.equal(state1.stateRoot, block1.block.header.stateRoot);
  });
});

describe('validateBlock', () => {
  it('default: accepts a block built by buildBlock and gives the same hash, results and state root', () => {
    const v = validateBlock({ env: env1, state: state1, tip: tip1, block: good2.block });
    assert.equal(v.hash, good2.hash);
    assert.deepEqual(v.results, [{ success: true }, { success: true }, { success: true }]);
    assert.equal(v.diff.stateRoot, good2.block.header.stateRoot);
    assert.equal(good2.block.header.height, 2);
    assert.equal(good2.block.header.version, BLOCK_VERSION);
    assert.equal(good2.block.header.lastCommitHash, commitHash(commit1));
    assert.deepEqual(good2.block.lastCommit, commit1);
  });

  it('default: does not change the state it validates on', () => {
    const before = state1.stateRoot;
    validateBlock({ env: env1, state: state1, tip: tip1, block: good2.block });
    assert.equal(state1.stateRoot, before);
  });

  it('behavior: an empty block is valid', () => {
    const empty = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [] });
    assert.equal(empty.block.txs.length, 0);
    assert.equal(validate2(empty.block), 'OK');
    assert.equal(empty.block.header.stateRoot, state1.stateRoot);
  });

  it('behavior: a tx that pays its fee but fails its own rule is valid in a block, as failed', () => {
    const failing = transfer({ from: 4, to: acct(5).address, amount: GENESIS_BALANCE, nonce: 0 });
    const b = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [failing] });
    assert.equal(b.block.txs.length, 1);
    assert.deepEqual(b.results, [{ success: false, error: ErrorCode.INSUFFICIENT_FUNDS }]);
    const v = validateBlock({ env: env1, state: state1, tip: tip1, block: b.block });
    assert.deepEqual(v.results, b.results);
  });

  it('behavior: a block of another round is valid with that round\'s proposer', () => {
    const r1 = buildBlock({ env: env1, state: state1, tip: tip1, round: 1, timestamp: tip1.timestamp + 1000, candidates: goodTxs });
    assert.equal(r1.block.header.proposer, selectProposer(env1.set, 2, 1).id);
    assert.notEqual(r1.block.header.proposer, good2.block.header.proposer);
    assert.equal(validate2(r1.block), 'OK');
  });

  it('error: wrong version', () => {
    assert.equal(validate2(withHeader(good2.block, { version: BLOCK_VERSION + 1 })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { version: 0 })), 'INVALID_BLOCK');
  });

  it('error: wrong chainId', () => {
    assert.equal(validate2(withHeader(good2.block, { chainId: 'fastpos-other' })), 'INVALID_BLOCK');
  });

  it('error: wrong height', () => {
    assert.equal(validate2(withHeader(good2.block, { height: 3 })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { height: 1 })), 'INVALID_BLOCK');
  });

  it('error: wrong prevHash', () => {
    assert.equal(validate2(withHeader(good2.block, { prevHash: OTHER_HASH })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { prevHash: genesisTip.hash })), 'INVALID_BLOCK');
  });

  it('error: timestamp not after the previous block', () => {
    assert.equal(validate2(withHeader(good2.block, { timestamp: tip1.timestamp })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { timestamp: tip1.timestamp - 1 })), 'INVALID_BLOCK');
    // Boundary: one millisecond after is fine.
    const next = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: goodTxs });
    assert.equal(next.block.header.timestamp, tip1.timestamp + 1);
    assert.equal(validate2(next.block), 'OK');
  });

  it('error: wrong proposer for the round', () => {
    const h = good2.block.header;
    assert.equal(validate2(withHeader(good2.block, { proposer: otherValidator(h.proposer) })), 'INVALID_BLOCK');
    // The proposer of round 1 put in a round-0 header, and a round-1 header keeping round 0's proposer.
    assert.equal(validate2(withHeader(good2.block, { proposer: selectProposer(env1.set, 2, 1).id })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { round: 1 })), 'INVALID_BLOCK');
    // Not a validator at all.
    assert.equal(validate2(withHeader(good2.block, { proposer: acct(0).address })), 'INVALID_BLOCK');
  });

  it('error: wrong validatorSetHash', () => {
    assert.equal(validate2(withHeader(good2.block, { validatorSetHash: OTHER_HASH })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { validatorSetHash: buildValidatorSet([]).hash })), 'INVALID_BLOCK');
  });

  it('error: txCount does not match the txs', () => {
    assert.equal(validate2(withHeader(good2.block, { txCount: goodTxs.length + 1 })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { txCount: goodTxs.length - 1 })), 'INVALID_BLOCK');
  });

  it('error: more txs than maxBlockTxs', () => {
    const small = envFor(state1, { ...genesis.params, maxBlockTxs: goodTxs.length - 1 });
    assert.equal(validate2(good2.block, small), 'INVALID_BLOCK');
    // Boundary: exactly at the limit is fine.
    assert.equal(validate2(good2.block, envFor(state1, { ...genesis.params, maxBlockTxs: goodTxs.length })), 'OK');
  });

  it('error: more tx bytes than maxBlockBytes', () => {
    const bytes = goodTxs.reduce((s, d) => s + d.size, 0);
    assert.equal(validate2(good2.block, envFor(state1, { ...genesis.params, maxBlockBytes: bytes - 1 })), 'INVALID_BLOCK');
    assert.equal(validate2(good2.block, envFor(state1, { ...genesis.params, maxBlockBytes: bytes })), 'OK');
  });

  it('error: wrong txRoot', () => {
    assert.equal(validate2(withHeader(good2.block, { txRoot: OTHER_HASH })), 'INVALID_BLOCK');
    // The right ids in another order.
    const reordered = [goodTxs[1]!, goodTxs[0]!, goodTxs[2]!];
    assert.equal(validate2(withHeader(good2.block, { txRoot: txRoot(reordered.map((d) => d.id)) })), 'INVALID_BLOCK');
  });

  it('error: a tx twice in one block', () => {
    assert.equal(validate2(withTxs(good2.block, [...goodTxs, goodTxs[1]!])), 'INVALID_BLOCK');
    assert.equal(validate2(withTxs(good2.block, [goodTxs[0]!, goodTxs[0]!])), 'INVALID_BLOCK');
  });

  it('error: a block after genesis without the previous certificate', () => {
    assert.equal(validate2({ ...good2.block, lastCommit: null }), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader({ ...good2.block, lastCommit: null }, { lastCommitHash: commitHash(null) })), 'INVALID_BLOCK');
  });

  it('error: block 1 carrying a previous certificate or a non-zero lastCommitHash', () => {
    const b1 = block1.block;
    const v1 = (block: Block): string => codeOf(() => validateBlock({ env: env0, state: genesisState, tip: genesisTip, block }));
    assert.equal(v1(b1), 'OK');
    const fake = certify(0, 0, genesisTip.hash);
    assert.equal(v1({ ...b1, lastCommit: fake }), 'INVALID_BLOCK');
    assert.equal(v1(withHeader({ ...b1, lastCommit: fake }, { lastCommitHash: commitHash(fake) })), 'INVALID_BLOCK');
    assert.equal(v1(withHeader(b1, { lastCommitHash: OTHER_HASH })), 'INVALID_BLOCK');
  });

  it('error: a lastCommit for another block or height', () => {
    for (const lc of [certify(1, 0, OTHER_HASH), { ...commit1, height: 2 }, { ...commit1, height: 0 }]) {
      // lastCommitHash is kept consistent with the carried certificate: only its target is wrong.
      assert.equal(validate2(withHeader({ ...good2.block, lastCommit: lc }, { lastCommitHash: commitHash(lc) })), 'INVALID_BLOCK');
    }
  });

  it('error: lastCommitHash does not match the carried certificate', () => {
    assert.equal(validate2(withHeader(good2.block, { lastCommitHash: OTHER_HASH })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { lastCommitHash: commitHash(null) })), 'INVALID_BLOCK');
    // Another valid certificate of block 1 (3 of 4 signers) with the hash of the first one.
    const other = certify(1, 0, block1.hash, [0, 1, 2]);
    assert.equal(validate2({ ...good2.block, lastCommit: other }), 'INVALID_BLOCK');
  });

  it('error: a tx whose sender cannot pay its fee', () => {
    const unfunded = transfer({ from: 50, to: acct(1).address, amount: 1n, nonce: 0 });
    assert.equal(validate2(withTxs(good2.block, [...goodTxs, unfunded])), 'INVALID_BLOCK');
  });

  it('boundary: a balance equal to the fee pays it (the tx fails on its amount), one below does not', () => {
    // The proposer of block 1 earned its fee (10) on the account of its validator key.
    const proposer = block1.block.header.proposer;
    const i = validatorSigners.findIndex((v) => v.id === proposer);
    assert.equal(getAccount(state1, proposer).balance, 10n);
    const exact = signedTransfer(devValidator(i).privateKey, { nonce: 0, to: acct(1).address, amount: 1n, fee: 10n });
    const over = signedTransfer(devValidator(i).privateKey, { nonce: 0, to: acct(1).address, amount: 1n, fee: 11n });
    const b = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [exact] });
    assert.deepEqual(b.results, [{ success: false, error: 'INSUFFICIENT_FUNDS' }]);
    assert.equal(validate2(b.block), 'OK');
    assert.equal(validate2(withTxs(b.block, [over])), 'INVALID_BLOCK');
  });

  it('error: a tx with a bad nonce', () => {
    const reused = transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0 }); // nonce 0 was used in block 1
    const gap = transfer({ from: 4, to: acct(1).address, amount: 1n, nonce: 1 }); // account 4 is at nonce 0
    assert.equal(validate2(withTxs(good2.block, [...goodTxs, reused])), 'INVALID_BLOCK');
    assert.equal(validate2(withTxs(good2.block, [...goodTxs, gap])), 'INVALID_BLOCK');
    // Nonces of one sender out of order.
    const a = transfer({ from: 4, to: acct(1).address, amount: 1n, nonce: 0 });
    assert.equal(validate2(withTxs(good2.block, [gap, a])), 'INVALID_BLOCK');
  });

  it('error: a tx of another chain or below the minimum fee', () => {
    const other = transfer({ from: 4, to: acct(1).address, amount: 1n, nonce: 0, chainId: 'fastpos-other' });
    const free = transfer({ from: 4, to: acct(1).address, amount: 1n, nonce: 0, fee: 0n });
    assert.equal(validate2(withTxs(good2.block, [other])), 'INVALID_BLOCK');
    assert.equal(validate2(withTxs(good2.block, [free])), 'INVALID_BLOCK');
  });

  it('error: wrong stateRoot', () => {
    assert.equal(validate2(withHeader(good2.block, { stateRoot: OTHER_HASH })), 'INVALID_BLOCK');
    assert.equal(validate2(withHeader(good2.block, { stateRoot: state1.stateRoot })), 'INVALID_BLOCK');
    // Right txs for another proposer (fees to another reward address): the root no longer matches.
    const r1 = buildBlock({ env: env1, state: state1, tip: tip1, round: 1, timestamp: tip1.timestamp + 1000, candidates: goodTxs });
    assert.equal(validate2(withHeader(good2.block, { stateRoot: r1.block.header.stateRoot })), 'INVALID_BLOCK');
  });

  it('error: a governance tx changing the state differently than the header claims', () => {
    // A validator_set_work_weight tx (the only other executable kind) with the root of an empty block.
    const k = acct(0);
    const unsigned: Omit<SetWorkWeightTx, 'signature'> = {
      chainId: CHAIN, kind: 'validator_set_work_weight', from: k.address, pubKey: k.publicKey, nonce: 1, fee: 10n,
      payload: { validatorId: devValidator(1).address, workWeight: 20_000 },
    };
    const d = toDecodedTx({ ...unsigned, signature: createSigner(k.privateKey).sign(txSignBytes(unsigned)) });
    const b = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [d] });
    assert.deepEqual(b.results, [{ success: true }]);
    assert.equal(validate2(b.block), 'OK');
    assert.equal(validate2(withHeader(b.block, { stateRoot: state1.stateRoot })), 'INVALID_BLOCK');
  });
});

describe('buildBlock', () => {
  it('behavior: skips txs that may not be in a block, reports them with their code, and includes the rest', () => {
    const ok1 = transfer({ from: 4, to: acct(1).address, amount: 5n, nonce: 0 });
    const unfunded = transfer({ from: 50, to: acct(1).address, amount: 1n, nonce: 0 });
    const reused = transfer({ from: 0, to: acct(1).address, amount: 1n, nonce: 0 });
    const gap = transfer({ from: 5, to: acct(1).address, amount: 1n, nonce: 3 });
    const otherChain = transfer({ from: 6, to: acct(1).address, amount: 1n, nonce: 0, chainId: 'fastpos-other' });
    const lowFee = transfer({ from: 7, to: acct(1).address, amount: 1n, nonce: 0, fee: 0n });
    const failing = transfer({ from: 8, to: acct(1).address, amount: GENESIS_BALANCE, nonce: 0 });
    const ok2 = transfer({ from: 4, to: acct(2).address, amount: 6n, nonce: 1 });
    const dup = ok1;
    const built = buildBlock({
      env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1,
      candidates: [ok1, unfunded, reused, gap, otherChain, lowFee, failing, ok2, dup],
    });
    assert.deepEqual(built.block.txs.map((d) => d.id), [ok1.id, failing.id, ok2.id]);
    assert.deepEqual(built.results, [{ success: true }, { success: false, error: 'INSUFFICIENT_FUNDS' }, { success: true }]);
    assert.deepEqual(
      built.skipped.map((s) => [s.tx.id, s.error.code]),
      [
        [unfunded.id, 'INSUFFICIENT_FUNDS'],
        [reused.id, 'NONCE_TOO_LOW'],
        [gap.id, 'NONCE_TOO_HIGH'],
        [otherChain.id, 'WRONG_CHAIN_ID'],
        [lowFee.id, 'FEE_TOO_LOW'],
        [dup.id, 'NONCE_TOO_LOW'],
      ],
    );
    assert.equal(validate2(built.block), 'OK');
  });

  it('behavior: a skipped tx leaves no trace in the state', () => {
    const ok = transfer({ from: 4, to: acct(1).address, amount: 5n, nonce: 0 });
    const unfunded = transfer({ from: 50, to: acct(1).address, amount: 1n, nonce: 0 });
    const a = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [ok] });
    const b = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [unfunded, ok, unfunded] });
    assert.equal(b.hash, a.hash);
    assert.equal(b.skipped.length, 2);
    assert.equal(getAccount(state1, acct(50).address).nonce, 0);
  });

  it('behavior: stops at maxBlockTxs', () => {
    const txs = [4, 5, 6, 7, 8].map((i) => transfer({ from: i, to: acct(1).address, amount: 1n, nonce: 0 }));
    const small = envFor(state1, { ...genesis.params, maxBlockTxs: 2 });
    const built = buildBlock({ env: small, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: txs });
    assert.deepEqual(built.block.txs.map((d) => d.id), [txs[0]!.id, txs[1]!.id]);
    assert.equal(built.block.header.txCount, 2);
    assert.equal(built.skipped.length, 0);
    assert.equal(validate2(built.block, small), 'OK');
  });

  it('behavior: keeps within maxBlockBytes, passing over a tx that does not fit for a smaller one after it', () => {
    // A tx with a 39-digit amount is bigger than one with a 1-digit amount.
    const big = transfer({ from: 5, to: acct(1).address, amount: 10n ** 38n, nonce: 0 });
    const smallA = transfer({ from: 4, to: acct(1).address, amount: 1n, nonce: 0 });
    const smallB = transfer({ from: 6, to: acct(1).address, amount: 1n, nonce: 0 });
    assert.ok(big.size > smallA.size);
    const limit = smallA.size + smallB.size;
    const tight = envFor(state1, { ...genesis.params, maxBlockBytes: limit });
    const built = buildBlock({ env: tight, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp + 1, candidates: [smallA, big, smallB] });
    assert.deepEqual(built.block.txs.map((d) => d.id), [smallA.id, smallB.id]);
    assert.equal(built.skipped.length, 0, 'a tx that does not fit is not an invalid tx');
    assert.equal(validate2(built.block, tight), 'OK');
  });

  it('behavior: the timestamp is strictly after the previous block whatever the clock says', () => {
    const built = buildBlock({ env: env1, state: state1, tip: tip1, round: 0, timestamp: tip1.timestamp - 10_000, candidates: [] });
    assert.equal(built.block.header.timestamp, tip1.timestamp + 1);
    assert.equal(validate2(built.block), 'OK');
  });

  it('property: a block built by buildBlock always passes validateBlock with the same hash, results and root', () => {
    const tx = fc.record({
      from: fc.integer({ min: 0, max: 11 }), // 10 and 11 are unfunded
      to: fc.integer({ min: 0, max: 12 }),
      amount: fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: 2n * GENESIS_BALANCE })),
      fee: fc.bigInt({ min: 0n, max: 50n }),
      nonceSkew: fc.constantFrom(0, 0, 0, 0, 1, -1), // mostly the next nonce, sometimes a gap or a reused one
      chain: fc.constantFrom(CHAIN, CHAIN, CHAIN, 'fastpos-other'),
    });
    fc.assert(
      fc.property(
        fc.array(tx, { maxLength: 25 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1024, max: 20_000 }),
        fc.boolean(),
        (specs, round, maxBlockTxs, maxBlockBytes, onGenesis) => {
          const state = onGenesis ? genesisState : state1;
          const tip = onGenesis ? genesisTip : tip1;
          const env = envFor(state, { ...genesis.params, maxBlockTxs, maxBlockBytes });
          const next = new Map<number, number>();
          const candidates = specs.map((s) => {
            const n = next.get(s.from) ?? getAccount(state, acct(s.from).address).nonce;
            const nonce = Math.max(0, n + s.nonceSkew);
            next.set(s.from, nonce + 1);
            return transfer({ from: s.from, to: acct(s.to).address, amount: s.amount, fee: s.fee, nonce, chainId: s.chain });
          });
          const built = buildBlock({ env, state, tip, round, timestamp: tip.timestamp + 5, candidates });
          const v = validateBlock({ env, state, tip, block: built.block });
          assert.equal(v.hash, built.hash);
          assert.deepEqual(v.results, built.results);
          assert.equal(v.diff.stateRoot, built.block.header.stateRoot);
          assert.ok(built.block.txs.length <= maxBlockTxs);
          assert.ok(built.block.txs.reduce((s, d) => s + d.size, 0) <= maxBlockBytes);
          assert.ok(built.block.txs.length + built.skipped.length <= candidates.length);
          const included = new Set(built.block.txs.map((d) => d.id));
          for (const s of built.skipped) assert.ok(!included.has(s.tx.id) || candidates.filter((c) => c.id === s.tx.id).length > 1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
