/**
 * `npm run bench -- --scenario chain`: whether a block's cost grows with the
 * chain's length or the state's size, measured in this process (no HTTP, no
 * consensus messages) on the real state transition and the real SQLite store.
 *
 *   npm run bench -- --scenario chain [--blocks 100000] [--window 50] [--txs-per-block 100]
 *                    [--accounts 1000000] [--seed 1] [--keep]
 *
 * Part 1, chain length: one validator (dev key 0) builds blocks with
 * `buildBlock`, certifies them with its precommit signature and commits them
 * to a SQLite store (`commitBlock`: one durable transaction per block, on
 * the writer thread, as a node does), then applies the diff to the world
 * state. Heights outside the measured windows hold empty blocks (the chain
 * still grows by one block, header and certificate each), except up to 5
 * full warm-up blocks at the start; each window is
 * `--window` blocks of `--txs-per-block` transfers starting at heights 1,000,
 * 10,000, 50,000 and 100,000 scaled by `--blocks` / 100,000.
 *
 * Part 2, state size: two fresh stores, one whose genesis also funds
 * `--accounts` extra accounts, one without; each runs 5 warm-up blocks, then
 * `--window` measured blocks of the same transfers, sent to recipients among
 * the extra accounts' addresses (updates in the big state, new accounts in
 * the empty one), picked from `--seed`.
 *
 * Per window it prints the mean execution (build: every tx applied, state
 * diff, state root, header hash), durable commit and apply (the diff into
 * the in-memory state) time per block. Every loop is bounded by its count.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signTransfer } from '../client/sign.js';
import { voteSignBytes } from '../codec/block.js';
import { encodeStateValue } from '../codec/state.js';
import { decodeTx } from '../codec/tx.js';
import { buildBlock, type BlockEnv, type ChainTip } from '../consensus/block.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey, devValidator } from '../crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, genesisEntries, genesisHash } from '../state/genesis.js';
import { getValidator } from '../state/staking.js';
import { WorldState } from '../state/worldState.js';
import { createChainStore, type ChainStore } from '../storage/index.js';
import type { Commit, DecodedTx, FinalizedBlock, Genesis } from '../types/index.js';
import { extendedGenesis, extraAccountAddress } from './genesisAccounts.js';

export interface ChainScenarioOptions {
  /** Chain length at the last window's start (the windows scale with it). */
  readonly blocks: number;
  readonly txsPerBlock: number;
  /** Measured blocks per window. */
  readonly window: number;
  /** Extra accounts of the big state in part 2 (0: no part 2). */
  readonly accounts: number;
  readonly seed: string;
  readonly keep: boolean;
  readonly out: (line: string) => void;
  /** Where the stores go (default: a new temporary dir, removed at the end unless `keep`). */
  readonly dir?: string;
}

/** One measured window. */
export interface WindowFigure {
  readonly part: 'chain length' | 'state size';
  /** Heights of the window, first and last. */
  readonly from: number;
  readonly to: number;
  /** Accounts in the state when the window starts. */
  readonly stateEntries: number;
  readonly txs: number;
  readonly meanExecMs: number;
  readonly meanCommitMs: number;
  readonly meanApplyMs: number;
}

export interface ChainReport {
  readonly windows: WindowFigure[];
  /** Final height and state root of each store (part 1 first). */
  readonly stores: { readonly dir: string; readonly height: number; readonly stateRoot: string }[];
}

/** The reference heights of the windows on a 100,000-block chain. */
const REFERENCE_HEIGHTS = [1_000, 10_000, 50_000, 100_000];
const REFERENCE_LENGTH = 100_000;
const WARMUP_BLOCKS = 5;
const CHAIN_ID = 'fastpos-bench-chain';
/** Most blocks of one run: heights well above this are not what the scenario is for. */
const MAX_BLOCKS = 1_000_000;

/** First height of each window for a chain of `blocks`: the reference heights scaled, in order, never overlapping. */
export function windowStarts(blocks: number, window: number): number[] {
  const out: number[] = [];
  let next = 1;
  for (const h of REFERENCE_HEIGHTS) {
    const start = Math.max(next, Math.round((h * blocks) / REFERENCE_LENGTH));
    out.push(start);
    next = start + window;
  }
  return out;
}

/** One chain being built: world state, tip, store and the senders' next nonces. */
class BenchChain {
  readonly state: WorldState;
  tip: ChainTip;
  private readonly nonces: number[];
  private readonly env0: Omit<BlockEnv, 'set'>;

  constructor(
    readonly genesis: Genesis,
    readonly store: ChainStore,
    private readonly validator: Signer,
    private readonly senders: readonly Signer[],
  ) {
    this.state = WorldState.fromEntries(genesisEntries(genesis));
    const loaded = store.open();
    if (loaded.genesisHash !== null) throw new Error('the bench store must be new');
    const hash = genesisHash(genesis);
    const encoded = new Map<string, string>();
    for (const [k, v] of this.state.allEntries()) encoded.set(k, encodeStateValue(k, v));
    store.initGenesis(hash, encoded, this.state.accumulatorBytes);
    this.tip = { height: 0, hash, timestamp: genesis.genesisTime, commit: null };
    this.nonces = senders.map(() => 0);
    this.env0 = { chainId: genesis.chainId, params: genesis.params, treasury: genesis.treasury, validator: (id) => getValidator(this.state, id) };
  }

  /** One transfer from each sender (in order) to the recipients given, as admitted txs. */
  transfers(recipients: readonly string[]): DecodedTx[] {
    return this.senders.map((s, i) => {
      const { tx } = signTransfer(s, { chainId: this.genesis.chainId, nonce: this.nonces[i]!++, to: recipients[i % recipients.length]!, amount: 1n, fee: 1n });
      return decodeTx(tx);
    });
  }

  /** Builds, certifies, commits and applies the next block; returns the time of each step (ms). */
  async next(txs: readonly DecodedTx[]): Promise<{ execMs: number; commitMs: number; applyMs: number }> {
    // The node keeps each height's set at hand (ChainHead): not part of the execution measured.
    const set = validatorSetForHeight(this.state, this.tip.height + 1, this.genesis.params);
    const t0 = performance.now();
    const built = buildBlock({ env: { ...this.env0, set }, state: this.state, tip: this.tip, round: 0, timestamp: this.tip.timestamp + 1000, candidates: txs });
    if (built.skipped.length > 0) throw new Error(`tx ${built.skipped[0]!.tx.id} does not apply: ${built.skipped[0]!.error.message}`);
    const t1 = performance.now();
    const height = built.block.header.height;
    const validatorId = addressFromPubKey(this.validator.publicKey);
    const commit: Commit = {
      height,
      round: 0,
      blockHash: built.hash,
      signatures: [{ validatorId, signature: this.validator.sign(voteSignBytes({ type: 'precommit', chainId: this.genesis.chainId, height, round: 0, validatorId, blockHash: built.hash })) }],
    };
    const fb: FinalizedBlock = { block: built.block, hash: built.hash, results: built.results, commit };
    const t2 = performance.now();
    await this.store.commitBlock({ block: fb, changes: built.diff.encoded, accumulator: built.diff.accumulator.toBytes() });
    const t3 = performance.now();
    this.state.apply(built.diff);
    this.tip = { height, hash: built.hash, timestamp: built.block.header.timestamp, commit };
    const t4 = performance.now();
    return { execMs: t1 - t0, commitMs: t3 - t2, applyMs: t4 - t3 };
  }
}

function benchGenesis(senders: readonly Signer[], validator: Signer, extraAccounts: number): Genesis {
  const base: Genesis = {
    chainId: CHAIN_ID,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000 },
    accounts: senders.map((s) => ({ address: addressFromPubKey(s.publicKey), balance: 10n ** 15n })),
    validators: [{ pubKey: validator.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
  };
  return extendedGenesis(base, extraAccounts);
}

/** Runs `window` measured blocks of `txsPerBlock` transfers and returns the means. */
async function measureWindow(chain: BenchChain, window: number, recipients: () => string[]): Promise<{ txs: number; execMs: number; commitMs: number; applyMs: number }> {
  let exec = 0;
  let commit = 0;
  let apply = 0;
  let txs = 0;
  for (let i = 0; i < window; i++) {
    const list = chain.transfers(recipients());
    const t = await chain.next(list);
    exec += t.execMs;
    commit += t.commitMs;
    apply += t.applyMs;
    txs += list.length;
  }
  return { txs, execMs: exec / window, commitMs: commit / window, applyMs: apply / window };
}

/** Recipients picked from the seed among `accounts` extra addresses (the first 1,000 when there are none). */
function recipientPicker(seed: string, accounts: number, perBlock: number): () => string[] {
  let round = 0;
  const span = Math.max(1_000, accounts);
  return () => {
    const h = sha256(`fastpos-bench-chain-recipients-${seed}-${round++}`);
    const start = h.readUInt32BE(0) % span;
    return Array.from({ length: perBlock }, (_, i) => extraAccountAddress((start + i * 7_919) % span));
  };
}

function fmt(ms: number): string {
  return ms.toFixed(2);
}

/** Runs both parts and prints a markdown table (and progress lines). */
export async function runChainScenario(o: ChainScenarioOptions): Promise<ChainReport> {
  for (const [k, v, min] of [['blocks', o.blocks, 1], ['txs-per-block', o.txsPerBlock, 1], ['window', o.window, 1], ['accounts', o.accounts, 0]] as const) {
    if (!Number.isSafeInteger(v) || v < min || v > MAX_BLOCKS * 10) throw new Error(`--${k} must be a whole number from ${min}, got ${v}`);
  }
  if (o.blocks > MAX_BLOCKS) throw new Error(`--blocks must be at most ${MAX_BLOCKS}`);
  const root = o.dir ?? mkdtempSync(join(tmpdir(), 'fastpos-bench-chain-'));
  const validator = createSigner(devValidator(0).privateKey);
  const senders = Array.from({ length: o.txsPerBlock }, (_, i) => createSigner(sha256(`fastpos-bench-chain-sender-${i}`).toString('hex')));
  const windows: WindowFigure[] = [];
  const stores: ChainReport['stores'] = [];
  const open: ChainStore[] = [];
  const say = (line: string): void => o.out(line);
  try {
    // Part 1: chain length.
    const starts = windowStarts(o.blocks, o.window);
    const last = starts[starts.length - 1]! + o.window - 1;
    say(`chain length: ${last} blocks, empty except ${starts.length} windows of ${o.window} blocks × ${o.txsPerBlock} transfers from heights ${starts.join(', ')}`);
    const store = createChainStore('sqlite', join(root, 'chain-length'));
    open.push(store);
    const chain = new BenchChain(benchGenesis(senders, validator, 0), store, validator, senders);
    const pick = recipientPicker(o.seed, 0, o.txsPerBlock);
    // Full blocks first (at most WARMUP_BLOCKS, before the first window), so that the first window is not the one that compiles the code.
    while (chain.tip.height + 1 < Math.min(starts[0]!, WARMUP_BLOCKS + 1)) await chain.next(chain.transfers(pick()));
    let progressAt = 0;
    for (const start of starts) {
      while (chain.tip.height + 1 < start) {
        await chain.next([]);
        if (chain.tip.height >= progressAt) {
          say(`  height ${chain.tip.height} of ${last}`);
          progressAt += Math.max(1_000, Math.ceil(last / 10));
        }
      }
      const entries = chain.state.size;
      const m = await measureWindow(chain, o.window, pick);
      windows.push({ part: 'chain length', from: start, to: start + o.window - 1, stateEntries: entries, txs: m.txs, meanExecMs: m.execMs, meanCommitMs: m.commitMs, meanApplyMs: m.applyMs });
    }
    stores.push({ dir: join(root, 'chain-length'), height: chain.tip.height, stateRoot: chain.state.stateRoot });

    // Part 2: state size, the same blocks on an empty state and on one of `accounts` extra accounts.
    if (o.accounts > 0) {
      for (const extra of [0, o.accounts]) {
        const label = extra === 0 ? 'state-empty' : 'state-big';
        say(`state size: ${extra} extra accounts: building the genesis state ...`);
        const s = createChainStore('sqlite', join(root, label));
        open.push(s);
        const c = new BenchChain(benchGenesis(senders, validator, extra), s, validator, senders);
        const p = recipientPicker(o.seed, o.accounts, o.txsPerBlock);
        for (let i = 0; i < WARMUP_BLOCKS; i++) await c.next(c.transfers(p()));
        const entries = c.state.size;
        const from = c.tip.height + 1;
        const m = await measureWindow(c, o.window, p);
        windows.push({ part: 'state size', from, to: from + o.window - 1, stateEntries: entries, txs: m.txs, meanExecMs: m.execMs, meanCommitMs: m.commitMs, meanApplyMs: m.applyMs });
        stores.push({ dir: join(root, label), height: c.tip.height, stateRoot: c.state.stateRoot });
        await s.close();
        open.splice(open.indexOf(s), 1);
      }
    }
    say('');
    say('| part | heights | state entries | txs per block | mean execution (ms) | mean durable commit (ms) | mean apply (ms) |');
    say('|---|---|---|---|---|---|---|');
    for (const w of windows) {
      say(`| ${w.part} | ${w.from}–${w.to} | ${w.stateEntries} | ${w.txs / (w.to - w.from + 1)} | ${fmt(w.meanExecMs)} | ${fmt(w.meanCommitMs)} | ${fmt(w.meanApplyMs)} |`);
    }
    say('');
    const ratios = (label: string, a: WindowFigure | undefined, b: WindowFigure | undefined): void => {
      if (a === undefined || b === undefined || a === b) return;
      say(`${label}: execution ${(b.meanExecMs / a.meanExecMs).toFixed(2)}×, durable commit ${(b.meanCommitMs / a.meanCommitMs).toFixed(2)}×, apply ${(b.meanApplyMs / a.meanApplyMs).toFixed(2)}×`);
    };
    const lengthRows = windows.filter((w) => w.part === 'chain length');
    const sizeRows = windows.filter((w) => w.part === 'state size');
    ratios(`chain length: heights ${lengthRows.at(-1)?.from} vs ${lengthRows[0]?.from}`, lengthRows[0], lengthRows.at(-1));
    ratios(`state size: ${o.accounts} extra accounts vs none`, sizeRows[0], sizeRows[1]);
    return { windows, stores };
  } finally {
    for (const s of open) await s.close();
    if (!o.keep && o.dir === undefined) rmSync(root, { recursive: true, force: true });
  }
}
