/**
 * Test chains for the storage tests, built with the real codec: transfers
 * signed by dev accounts, finalized blocks with hashes and certificates, the
 * state changes of each block (canonical JSON via encodeStateValue) and a
 * model of every finalized tx to check queries against. The accumulator is a
 * deterministic stand-in (storage stores it and never interprets it).
 * @module
 */
import { newValidator } from '../../../src/state/staking.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BLOCK_VERSION, blockHash, commitHash, evidenceListHash } from '../../../src/codec/block.js';
import { txRoot } from '../../../src/codec/merkle.js';
import { accountKey, encodeStateValue, validatorKey, type StateValue } from '../../../src/codec/state.js';
import { encodeTx, toDecodedTx, txSignBytes } from '../../../src/codec/tx.js';
import { addressFromPubKey, createSigner, devAccountPrivateKey, devValidatorPrivateKey, sha256, sha256Hex } from '../../../src/crypto/index.js';
import type { BlockCommit, TxQuery } from '../../../src/storage/types.js';
import type { Account, Commit, DecodedTx, FinalizedBlock, Tx, TransferTx, TxResult, Validator } from '../../../src/types/index.js';

export const CHAIN_ID = 'fastpos-storage-test';

export function tempDir(label = 'store'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `fastpos-${label}-`));
}

/** What a test expects `getTx` / `queryTxs` to return for one tx, plus the filter fields. */
export interface ModelTx {
  readonly id: string;
  readonly height: number;
  readonly index: number;
  readonly blockHash: string;
  readonly result: TxResult;
  readonly tx: Record<string, unknown>;
  readonly sender: string;
  readonly recipient: string;
  readonly kind: string;
  /** The validator the tx concerns (mempool/txFilter.ts), or null. */
  readonly validator: string | null;
  readonly fee: bigint;
  /** Timestamp of its block. */
  readonly time: number;
}

export interface ChainFixture {
  readonly genesisHash: string;
  readonly genesisEntries: Map<string, string>;
  readonly genesisAccumulator: Buffer;
  readonly commits: BlockCommit[];
  /** Full state (key -> canonical JSON) at each height, index = height. */
  readonly stateAt: Map<string, string>[];
  /** Every tx in (height, index) order. */
  readonly txs: ModelTx[];
  /** Account addresses that send txs. */
  readonly senders: string[];
  /** An address that only receives (created by the first transfer to it). */
  readonly newcomer: string;
  /** The validators the staking txs name: the genesis validator, the one bonded, the one an evidence slash names. */
  readonly validators: { readonly genesis: string; readonly bonded: string; readonly slashed: string };
}

/** Timestamp of block `height` in the fixture chains. */
export function blockTime(height: number): number {
  return 1_767_225_600_000 + height * 1000;
}

/** Deterministic 2048-byte stand-in for the LtHash accumulator at `height`. */
export function fakeAccumulator(height: number): Buffer {
  const h = sha256(`accumulator-${height}`);
  return Buffer.concat(Array.from({ length: 64 }, () => h));
}

const signers = Array.from({ length: 4 }, (_, i) => createSigner(devAccountPrivateKey(i)));
const validatorSigner = createSigner(devValidatorPrivateKey(0));
const validatorId = addressFromPubKey(validatorSigner.publicKey);
/** A key bonded by a validator_bond of the chain (its id is the address of the key). */
const bondedKey = createSigner(devValidatorPrivateKey(1)).publicKey;
/** The validator an evidence-form validator_slash names. */
const slashedId = sha256Hex('slashed-validator').slice(0, 40);

function signed(from: number, nonce: number, fee: bigint, kind: Tx['kind'], payload: Tx['payload']): DecodedTx {
  const s = signers[from]!;
  const unsigned = { chainId: CHAIN_ID, kind, from: addressFromPubKey(s.publicKey), pubKey: s.publicKey, nonce, fee, payload } as Omit<Tx, 'signature'>;
  return toDecodedTx({ ...unsigned, signature: s.sign(txSignBytes(unsigned as Parameters<typeof txSignBytes>[0])) } as Tx);
}

function signedTransfer(from: number, to: string, nonce: number, amount: bigint, fee: bigint): DecodedTx {
  return signed(from, nonce, fee, 'transfer', { to, amount } satisfies TransferTx['payload']);
}

/** Fees of the transfers in turn: one- to three-digit, so that a text comparison would order them wrongly. */
const FEES = [1n, 9n, 10n, 100n, 25n];

/**
 * The staking tx of block `height` (none at heights divisible by 5), each
 * naming a validator in its own way: a bond (the bonded key's id), a
 * delegation and an unjail (payload.validatorId), an evidence slash (the
 * evidence's validator).
 */
function stakingTx(height: number, from: number, nonce: number): DecodedTx | undefined {
  const vote = (blockHash: string) => ({ type: 'prevote' as const, chainId: CHAIN_ID, height: 3, round: 0, validatorId: slashedId, payload: { blockHash }, signature: 'ab'.repeat(64) });
  switch (height % 5) {
    case 1:
      return signed(from, nonce, 7n, 'validator_bond', { pubKey: bondedKey, amount: 1000n });
    case 2:
      return signed(from, nonce, 10n, 'delegation_delegate', { validatorId, amount: 50n });
    case 3:
      return signed(from, nonce, 2n, 'validator_unjail', { validatorId });
    case 4:
      return signed(from, nonce, 100n, 'validator_slash', { evidence: { a: vote('11'.repeat(32)), b: vote('22'.repeat(32)) } });
    default:
      return undefined;
  }
}

/**
 * Builds `blocks` finalized blocks of `txsPerBlock` transfers each, then (at
 * heights not divisible by 5) one failed staking tx (`stakingTx`). Every 4th
 * transfer fails (fee charged, nonce advanced, nothing else), every 3rd goes
 * to `newcomer`, the rest between the dev accounts; fees take the values of
 * FEES in turn. Block h has timestamp 1_767_225_600_000 + h × 1000.
 */
export function buildChain(blocks: number, txsPerBlock: number): ChainFixture {
  const senders = signers.map((s) => addressFromPubKey(s.publicKey));
  const newcomer = sha256Hex('newcomer').slice(0, 40);
  const state = new Map<string, StateValue>();
  for (const a of senders) state.set(accountKey(a), { balance: 1_000_000n, nonce: 0 });
  const validator: Validator = newValidator({ pubKey: validatorSigner.publicKey, stake: 1_000_000n, rewardAddress: senders[0]! });
  state.set(validatorKey(validatorId), validator);
  const encodeAll = (): Map<string, string> => new Map([...state].map(([k, v]) => [k, encodeStateValue(k, v)]));
  const genesisEntries = encodeAll();
  const genesisHash = sha256Hex('genesis-' + CHAIN_ID);
  const stateAt = [genesisEntries];
  const commits: BlockCommit[] = [];
  const txs: ModelTx[] = [];
  let prevHash = genesisHash;
  let prevCommit: Commit | null = null;
  let n = 0;
  for (let height = 1; height <= blocks; height++) {
    const decoded: DecodedTx[] = [];
    const results: TxResult[] = [];
    const changes = new Map<string, string>();
    const account = (a: string): Account => (state.get(accountKey(a)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
    const put = (a: string, v: Account): void => {
      state.set(accountKey(a), v);
      changes.set(accountKey(a), encodeStateValue(accountKey(a), v));
    };
    for (let i = 0; i < txsPerBlock; i++, n++) {
      const from = n % senders.length;
      const sender = senders[from]!;
      const to = n % 3 === 0 ? newcomer : senders[(from + 1) % senders.length]!;
      const fails = n % 4 === 3;
      const amount = fails ? 10_000_000n : BigInt(10 + n);
      const acct = account(sender);
      const fee = FEES[n % FEES.length]!;
      const d = signedTransfer(from, to, acct.nonce, amount, fee);
      decoded.push(d);
      put(sender, { balance: acct.balance - fee - (fails ? 0n : amount), nonce: acct.nonce + 1 });
      if (!fails) {
        const r = account(to);
        put(to, { balance: r.balance + amount, nonce: r.nonce });
      }
      results.push(fails ? { success: false, error: 'INSUFFICIENT_FUNDS' } : { success: true });
    }
    // One staking tx after the transfers: its fee is charged and its nonce used, its own rule fails.
    const stakerIndex = height % senders.length;
    const staker = senders[stakerIndex]!;
    const stakerAccount = account(staker);
    const staking = stakingTx(height, stakerIndex, stakerAccount.nonce);
    if (staking !== undefined) {
      decoded.push(staking);
      put(staker, { balance: stakerAccount.balance - staking.tx.fee, nonce: stakerAccount.nonce + 1 });
      results.push({ success: false, error: 'FORBIDDEN' });
    }
    const header = {
      version: BLOCK_VERSION,
      chainId: CHAIN_ID,
      height,
      round: 0,
      timestamp: blockTime(height),
      prevHash,
      proposer: validatorId,
      txRoot: txRoot(decoded.map((d) => d.id)),
      txCount: decoded.length,
      stateRoot: sha256Hex(`state-root-${height}`),
      validatorSetHash: sha256Hex('validator-set'),
      lastCommitHash: commitHash(prevCommit),
      evidenceHash: evidenceListHash([]),
    };
    const hash = blockHash(header);
    const commit: Commit = {
      height,
      round: 0,
      blockHash: hash,
      signatures: [{ validatorId, signature: validatorSigner.sign(Buffer.from(hash, 'hex')) }],
    };
    const block: FinalizedBlock = { block: { header, txs: decoded, lastCommit: prevCommit, evidence: [] }, hash, results, commit };
    commits.push({ block, changes, accumulator: fakeAccumulator(height) });
    decoded.forEach((d, index) =>
      txs.push({
        id: d.id,
        height,
        index,
        blockHash: hash,
        result: results[index]!,
        tx: encodeTx(d.tx),
        sender: d.tx.from,
        recipient: d.tx.kind === 'transfer' ? d.tx.payload.to : '',
        kind: d.tx.kind,
        validator: modelValidator(d.tx),
        fee: d.tx.fee,
        time: header.timestamp,
      }),
    );
    stateAt.push(encodeAll());
    prevHash = hash;
    prevCommit = commit;
  }
  return {
    genesisHash,
    genesisEntries,
    genesisAccumulator: fakeAccumulator(0),
    commits,
    stateAt,
    txs,
    senders,
    newcomer,
    validators: { genesis: validatorId, bonded: addressFromPubKey(bondedKey), slashed: slashedId },
  };
}

/** The validator a tx concerns, written out per kind (the model of `validatorOf`). */
function modelValidator(tx: Tx): string | null {
  switch (tx.kind) {
    case 'validator_bond':
      return addressFromPubKey(tx.payload.pubKey);
    case 'validator_slash':
      return 'evidence' in tx.payload ? tx.payload.evidence.a.validatorId : tx.payload.validatorId;
    case 'transfer':
      return null;
    default:
      return 'validatorId' in tx.payload ? tx.payload.validatorId : null;
  }
}

/** Reference implementation of `queryTxs` over the model. */
export function expectedQuery(all: readonly ModelTx[], q: TxQuery): { total: number; ids: string[] } {
  const m = all.filter(
    (t) =>
      (q.from === undefined || t.sender === q.from) &&
      (q.to === undefined || (t.kind === 'transfer' && t.recipient === q.to)) &&
      (q.address === undefined || t.sender === q.address || t.recipient === q.address) &&
      (q.kind === undefined || t.kind === q.kind) &&
      (q.success === undefined || t.result.success === q.success) &&
      (q.fromHeight === undefined || t.height >= q.fromHeight) &&
      (q.toHeight === undefined || t.height <= q.toHeight) &&
      (q.validatorId === undefined || t.validator === q.validatorId) &&
      (q.minFee === undefined || t.fee >= q.minFee) &&
      (q.maxFee === undefined || t.fee <= q.maxFee) &&
      (q.fromTime === undefined || t.time >= q.fromTime) &&
      (q.toTime === undefined || t.time <= q.toTime),
  );
  if (q.order === 'desc') m.reverse();
  return { total: m.length, ids: m.slice(q.offset, q.offset + q.limit).map((t) => t.id) };
}

/** The record fields of a model tx (what getTx must return). */
export function recordOf(t: ModelTx): Record<string, unknown> {
  return { id: t.id, height: t.height, index: t.index, blockHash: t.blockHash, result: t.result, tx: t.tx };
}
