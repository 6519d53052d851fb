/**
 * The simulation's application: a chain of empty blocks per node, with the
 * same header rules a real node checks (chain id, height, link to the
 * previous block, proposer of the block's round, timestamp after the
 * previous one, tx root of no txs, state root, validator set, previous
 * certificate). The chain (`SimChain`) survives crashes; a `SimApp` lives as
 * long as one incarnation of the node.
 * @module
 */
import { BLOCK_VERSION, evidenceListHash, blockHash, commitHash } from '../codec/block.js';
import { txRoot } from '../codec/merkle.js';
import { verifyCommit } from '../consensus/commit.js';
import type { ConsensusApp } from '../consensus/driver.js';
import { selectProposer } from '../consensus/proposer.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Block, BlockHeader, Commit, FinalizedBlock, ValidatorSet } from '../types/index.js';
import type { KeyObject } from 'node:crypto';

export const EMPTY_TX_ROOT = txRoot([]);
export const ZERO_COMMIT_HASH = commitHash(null);

export function genesisHash(chainId: string): string {
  return sha256Hex(`fastpos/sim/genesis\n${chainId}`);
}

/** The sim's state commitment: there is no state, so it commits to the position. */
export function simStateRoot(height: number, prevHash: string): string {
  return sha256Hex(`fastpos/sim/state\n${height}\n${prevHash}`);
}

/** Committed blocks of one node: survives crashes (a model of its block store). */
export class SimChain {
  readonly blocks: FinalizedBlock[] = [];
  constructor(
    readonly chainId: string,
    readonly genesisTime: number,
  ) {}
  get height(): number {
    return this.blocks.length;
  }
  get tipHash(): string {
    return this.blocks.at(-1)?.hash ?? genesisHash(this.chainId);
  }
  get tipTime(): number {
    return this.blocks.at(-1)?.block.header.timestamp ?? this.genesisTime;
  }
  get tipCommit(): Commit | null {
    return this.blocks.at(-1)?.commit ?? null;
  }
  at(height: number): FinalizedBlock | undefined {
    return this.blocks[height - 1];
  }
}

/**
 * Memo of certificate checks: verifyCommit is a pure function of its inputs,
 * so one answer per (set, height, block, certificate) serves every node. Saves
 * most of the Ed25519 verifications of a run.
 */
export class CertCache {
  private readonly ok = new Map<string, string | null>();
  readonly keyCache = new Map<string, KeyObject>();
  checks = 0;

  /** null when the certificate is valid, else the reason. */
  check(chainId: string, set: ValidatorSet, commit: Commit, height: number, hash: string): string | null {
    const key = `${set.hash}/${height}/${hash}/${commitHash(commit)}`;
    const hit = this.ok.get(key);
    if (hit !== undefined) return hit;
    this.checks++;
    let reason: string | null = null;
    try {
      verifyCommit({ chainId, set, commit, height, blockHash: hash, keyCache: this.keyCache });
    } catch (err) {
      reason = (err as Error).message;
    }
    this.ok.set(key, reason);
    return reason;
  }
}

export interface SimAppEnv {
  readonly chainId: string;
  readonly set: ValidatorSet;
  readonly chain: SimChain;
  readonly certs: CertCache;
  /** Virtual wall clock in Unix ms. */
  now(): number;
  /** Runs fn after `ms` virtual ms, unless this incarnation of the node is gone by then. */
  later(ms: number, fn: () => void): void;
  /** Random delay of building a block. */
  buildDelayMs(): number;
  /** Called before a block is appended; returns a reason to refuse it (a broken invariant), or null. */
  beforeCommit(fb: FinalizedBlock): string | null;
  afterCommit(fb: FinalizedBlock): void;
}

const EMPTY_EVIDENCE_HASH = evidenceListHash([]);

export class SimApp implements ConsensusApp {
  constructor(private readonly env: SimAppEnv) {}

  validatorSet(_height: number): ValidatorSet {
    return this.env.set;
  }

  proposerOf(height: number, round: number): string {
    return selectProposer(this.env.set, height, round).id;
  }

  /** The header this node builds for (height, round) on its tip. */
  makeBlock(height: number, round: number): { block: Block; hash: string } {
    const { chain, set } = this.env;
    const prevHash = chain.tipHash;
    const lastCommit = chain.tipCommit;
    const header: BlockHeader = {
      version: BLOCK_VERSION,
      chainId: this.env.chainId,
      height,
      round,
      timestamp: Math.max(this.env.now(), chain.tipTime + 1),
      prevHash,
      proposer: this.proposerOf(height, round),
      txRoot: EMPTY_TX_ROOT,
      txCount: 0,
      stateRoot: simStateRoot(height, prevHash),
      validatorSetHash: set.hash,
      lastCommitHash: commitHash(lastCommit),
      evidenceHash: EMPTY_EVIDENCE_HASH,
    };
    return { block: { header, txs: [], lastCommit, evidence: [] }, hash: blockHash(header) };
  }

  buildBlock(height: number, round: number): Promise<{ block: Block; hash: string } | null> {
    return new Promise((resolve) => {
      this.env.later(this.env.buildDelayMs(), () => {
        // The tip may have moved while building: the driver drops a block for a past height.
        if (this.env.chain.height + 1 !== height) resolve(null);
        else resolve(this.makeBlock(height, round));
      });
    });
  }

  /** Why `block` is not a valid next block for this node's chain, or null if it is. */
  invalidReason(block: Block, hash: string): string | null {
    const { chain, set, chainId } = this.env;
    const h = block.header;
    if (blockHash(h) !== hash) return 'hash is not the hash of the header';
    if (h.version !== BLOCK_VERSION) return `version ${h.version}`;
    if (h.chainId !== chainId) return `chainId ${h.chainId}`;
    if (h.height !== chain.height + 1) return `height ${h.height}, tip is ${chain.height}`;
    if (h.prevHash !== chain.tipHash) return `prevHash ${h.prevHash.slice(0, 12)} is not the tip ${chain.tipHash.slice(0, 12)}`;
    if (h.proposer !== this.proposerOf(h.height, h.round)) return `proposer ${h.proposer.slice(0, 8)} is not the proposer of round ${h.round}`;
    if (h.timestamp <= chain.tipTime) return `timestamp ${h.timestamp} not after ${chain.tipTime}`;
    if (block.txs.length !== 0 || h.txCount !== 0 || h.txRoot !== EMPTY_TX_ROOT) return 'txs in an empty-block chain';
    if (h.stateRoot !== simStateRoot(h.height, h.prevHash)) return 'stateRoot';
    if (h.validatorSetHash !== set.hash) return 'validatorSetHash';
    // The previous certificate: any valid one will do (nodes may hold different ones), and the header commits to it.
    if (h.lastCommitHash !== commitHash(block.lastCommit)) return 'lastCommitHash is not the hash of lastCommit';
    if (h.height === 1) {
      if (block.lastCommit !== null) return 'lastCommit at height 1';
    } else {
      if (block.lastCommit === null) return 'no lastCommit';
      const why = this.env.certs.check(chainId, set, block.lastCommit, h.height - 1, chain.tipHash);
      if (why !== null) return `lastCommit: ${why}`;
    }
    return null;
  }

  validateBlock(block: Block, hash: string): boolean {
    return this.invalidReason(block, hash) === null;
  }

  verifyCertified(fb: FinalizedBlock): boolean {
    if (this.invalidReason(fb.block, fb.hash) !== null) return false;
    return this.env.certs.check(this.env.chainId, this.env.set, fb.commit, fb.block.header.height, fb.hash) === null;
  }

  /** A committed block of this node, for a driver that serves peers still at that height. */
  finalized(height: number): FinalizedBlock | null {
    return this.env.chain.at(height) ?? null;
  }

  commit(block: Block, hash: string, commit: Commit): Promise<FinalizedBlock> {
    const fb: FinalizedBlock = { block, hash, results: [], commit };
    const refuse = this.env.beforeCommit(fb);
    if (refuse !== null) return Promise.reject(new Error(refuse));
    this.env.chain.blocks.push(fb);
    this.env.afterCommit(fb);
    return Promise.resolve(fb);
  }
}
