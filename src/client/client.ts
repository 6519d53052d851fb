import type { FinalizedBlock, SignedMessage, TxKind } from '../types/index.js';
import { submitTxBatches, type SubmitTxsOptions, type TxBatchResult } from './batch.js';
import { buildSignedTx, signerOf, type SignedTx, type SigningKey, type TxPayloadOf } from './builders.js';
import { ValidatorSetTracker, type TrackedValidatorSet, type TrustedSet } from './certificate.js';
import { ApiError, CertificateError, ClientError, ClientErrorCode, type ApiErrorBody } from './errors.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js';

export { ApiError, type ApiErrorBody } from './errors.js';

export interface TxStatusView {
  id: string;
  status: 'pending' | 'finalized' | 'dropped';
  height?: number;
  index?: number;
  blockHash?: string;
  success?: boolean;
  error?: string;
  message?: string;
  tx: Record<string, unknown>;
}

export interface AccountView {
  address: string;
  balance: string;
  nonce: number;
  pendingNonce: number;
}

export interface StatusView {
  chainId: string;
  nodeId: string;
  genesisHash: string;
  latestHeight: number;
  latestHash: string;
  [k: string]: unknown;
}

/** What the client needs to know of the chain: fetched once, or given in the options. */
export interface ChainInfo {
  readonly chainId: string;
  /** The chain's minimum fee: the default fee of every tx the client builds. */
  readonly minFee: bigint;
  readonly epochLengthBlocks: number;
}

/** `GET /product/billing/quote?amount=`: what a settlement of `amount` costs. */
export interface SettlementQuote {
  readonly amount: bigint;
  /** The chain's minimum tx fee. */
  readonly fee: bigint;
  readonly protocolFee: bigint;
  /** What the validator's operator receives. */
  readonly net: bigint;
  readonly feeBps: number;
  /** amount + fee: what the payer pays. */
  readonly total: bigint;
}

/** A settlement receipt (finalized) or the settlement of a pending tx (`height`, `epoch` and `feeBps` absent). */
export interface SettlementView {
  readonly id: string;
  readonly payer: string;
  readonly reference: string;
  readonly validatorId: string;
  readonly amount: bigint;
  readonly protocolFee: bigint;
  readonly net: bigint;
  readonly feeBps?: number;
  readonly height?: number;
  readonly epoch?: number;
}

export interface ClientOptions {
  /** Bearer token of the admin routes. */
  readonly adminToken?: string;
  /** Bound of one HTTP request. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Retries of submissions (`submitWithRetry`, `send` and the kind methods). */
  readonly retry?: Partial<RetryPolicy>;
  /** The chain the client expects; otherwise the node's, from `GET /status`. A node of another chain is refused. */
  readonly chainId?: string;
  /** The default fee; otherwise the chain's minimum fee, read from the node. */
  readonly minFee?: bigint;
  /** Otherwise from `GET /epochs/current`. */
  readonly epochLengthBlocks?: number;
  /** The set the client starts tracking from; otherwise the first set it needs, as the node serves it (trust on first use). */
  readonly trustedSet?: TrustedSet;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

export interface BuildOptions {
  /** Default: the sender's `pendingNonce`. */
  readonly nonce?: number;
  /** Default: the chain's minimum fee. */
  readonly fee?: bigint;
}

export interface SubmitResult {
  readonly id: string;
  /** `pending`, or `finalized` when a retry found the tx already in a block. */
  readonly status: string;
  /** Attempts it took (1 without a retry). */
  readonly attempts: number;
  /** The full tx status when the node answered with it (the tx was finalized). */
  readonly finalized?: TxStatusView;
}

export interface WaitOptions {
  /** Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** Between two polls of `GET /tx`. Default 100 ms. */
  readonly intervalMs?: number;
}

/** A finalized tx whose block's certificate verified against the tracked validator set. */
export interface Confirmation {
  readonly status: TxStatusView & { status: 'finalized'; height: number; index: number; blockHash: string; success: boolean };
  readonly height: number;
  readonly epoch: number;
  readonly blockHash: string;
  /** Voting power of the certificate's signers, and of the whole set. */
  readonly signedPower: bigint;
  readonly totalPower: bigint;
  /** The hash of the set that signed (the header's `validatorSetHash`). */
  readonly setHash: string;
}

export interface SendOptions extends BuildOptions {
  /** Wait for finality and verify the block's certificate (`confirmTx`). */
  readonly wait?: boolean | WaitOptions;
  /** Retries of this submission (over the client's). */
  readonly retry?: Partial<RetryPolicy>;
}

export interface SendResult<K extends TxKind = TxKind> {
  readonly id: string;
  readonly signed: SignedTx<K>;
  readonly submitted: SubmitResult;
  /** With `wait`. */
  readonly confirmation?: Confirmation;
}

type Wire = Record<string, unknown>;

/** A decimal string of the answer as a bigint, or INVALID_RESPONSE. */
function amountOf(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(v)) throw new ClientError(ClientErrorCode.INVALID_RESPONSE, `${what} must be a decimal string, got ${JSON.stringify(v)}`);
  return BigInt(v);
}

function settlementOf(s: Wire): SettlementView {
  return {
    id: String(s.id),
    payer: String(s.payer),
    reference: String(s.reference),
    validatorId: String(s.validatorId),
    amount: amountOf(s.amount, 'settlement.amount'),
    protocolFee: amountOf(s.protocolFee, 'settlement.protocolFee'),
    net: amountOf(s.net, 'settlement.net'),
    ...(typeof s.feeBps === 'number' ? { feeBps: s.feeBps } : {}),
    ...(typeof s.height === 'number' ? { height: s.height } : {}),
    ...(typeof s.epoch === 'number' ? { epoch: s.epoch } : {}),
  };
}

function parseRetryAfter(h: string | null): number | undefined {
  if (h === null) return undefined;
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? Math.min(s * 1000, 60_000) : undefined;
}

/**
 * Typed client of the fastpos HTTP API (docs/api.md): reads, typed builders of
 * every tx kind signed locally, submissions retried idempotently, waiting for
 * finality, and the check of the certificate of the block a tx landed in
 * against the validator sets the client tracks.
 */
export class FastposClient {
  readonly baseUrl: string;
  private info: Promise<ChainInfo> | undefined;
  private tracker: Promise<ValidatorSetTracker> | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly opts: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  private async call<T>(method: string, path: string, body?: unknown, o: { admin?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (o.admin === true && this.opts.adminToken !== undefined) headers.authorization = `Bearer ${this.opts.adminToken}`;
    const res = await this.fetchImpl(this.baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(o.timeoutMs ?? this.opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // A proxy's HTML error page: keep its status, so that a 502/503 is still retried.
      if (!res.ok) throw new ApiError(res.status, 'HTTP_' + res.status, text.slice(0, 200), parseRetryAfter(res.headers.get('retry-after')));
      throw new ApiError(res.status, 'INVALID_RESPONSE', `not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (json as ApiErrorBody | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? text.slice(0, 200), parseRetryAfter(res.headers.get('retry-after')));
    }
    return json as T;
  }

  /** A GET that answers `undefined` for a 404. */
  private async lookup<T>(path: string): Promise<T | undefined> {
    try {
      return await this.call<T>('GET', path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  // ------------------------------------------------------------------ reads

  status(): Promise<StatusView> {
    return this.call('GET', '/status');
  }
  account(address: string): Promise<AccountView> {
    return this.call('GET', `/accounts/${address}`);
  }
  getTx(id: string): Promise<TxStatusView> {
    return this.call('GET', `/tx?id=${id}`);
  }
  block(height: number | 'latest'): Promise<Record<string, unknown>> {
    return this.call('GET', `/blocks/${height}`);
  }
  /** `GET /validators?epoch=N`, as served (not checked: see `trackedSet`). */
  validatorSet(epoch: number): Promise<Record<string, unknown>> {
    return this.call('GET', `/validators?epoch=${epoch}`);
  }
  currentEpoch(): Promise<{ epoch: number; startHeight: number; endHeight: number; epochLengthBlocks: number; height: number; validators: number; totalPower: string; setHash: string }> {
    return this.call('GET', '/epochs/current');
  }
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.call(method, `/admin${path}`, body ?? (method === 'POST' ? {} : undefined), { admin: true });
  }

  /**
   * Chain id, minimum fee and epoch length, read once (options first): the
   * minimum fee from `GET /status` (`minFee`), the epoch length from
   * `GET /epochs/current`.
   */
  chainInfo(): Promise<ChainInfo> {
    this.info ??= (async () => {
      const status = await this.status();
      if (this.opts.chainId !== undefined && status.chainId !== this.opts.chainId) {
        throw new ClientError(ClientErrorCode.INVALID_RESPONSE, `the node at ${this.baseUrl} is of chain ${status.chainId}, expected ${this.opts.chainId}`);
      }
      const minFee = this.opts.minFee ?? amountOf(status.minFee, 'status.minFee');
      const epochLengthBlocks = this.opts.epochLengthBlocks ?? (await this.currentEpoch()).epochLengthBlocks;
      return { chainId: status.chainId, minFee, epochLengthBlocks };
    })();
    this.info.catch(() => {
      this.info = undefined;
    });
    return this.info;
  }

  // ------------------------------------------------------------------ building and submitting

  /** Builds and signs a tx of `kind`: chain id, nonce (`pendingNonce`) and fee (the minimum) filled in unless given. */
  async buildTx<K extends TxKind>(key: SigningKey, kind: K, payload: TxPayloadOf<K>, o: BuildOptions = {}): Promise<SignedTx<K>> {
    const signer = signerOf(key);
    const info = await this.chainInfo();
    const signed0 = buildSignedTx(signer, { chainId: info.chainId, kind, payload, nonce: o.nonce ?? 0, fee: o.fee ?? info.minFee });
    if (o.nonce !== undefined) return signed0;
    // Checked before asking for the nonce: a payload the node would refuse costs no request.
    const nonce = (await this.account(signed0.unsigned.from)).pendingNonce;
    return nonce === 0 ? signed0 : buildSignedTx(signer, { chainId: info.chainId, kind, payload, nonce, fee: o.fee ?? info.minFee });
  }

  /** One `POST /tx`; `idempotent` answers the state of a tx the node already knows instead of 409. */
  submitTx(tx: Record<string, unknown>, opts: { idempotent?: boolean; timeoutMs?: number } = {}): Promise<{ id: string; status: string }> {
    return this.call('POST', opts.idempotent ? '/tx?idempotent=true' : '/tx', tx, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
  }

  /**
   * `POST /txs`: many signed txs, one result per tx in order (the code
   * `POST /tx` would give each refused one). Lists longer than
   * `maxPerRequest` (default 1000) go in several requests, one after another.
   * A refused request (400, 413, 429) throws ApiError; no retries.
   */
  submitTxs(txs: readonly Record<string, unknown>[], opts: SubmitTxsOptions = {}): Promise<TxBatchResult[]> {
    return submitTxBatches((path, body, o) => this.call('POST', path, body, o), txs, opts);
  }

  /**
   * Submits a signed tx with `?idempotent=true` on every attempt, so that a
   * retry never submits twice: the node answers the tx's state if an earlier
   * attempt reached it. Network errors, 5xx and 429 are retried with backoff
   * (and the node's `retry-after`), within the policy's attempts and time;
   * other errors are thrown at once. RETRY_EXHAUSTED when they run out.
   */
  async submitWithRetry(tx: Record<string, unknown>, policy: Partial<RetryPolicy> = {}): Promise<SubmitResult> {
    const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...this.opts.retry, ...policy };
    const perRequest = this.opts.timeoutMs ?? 10_000;
    const { value, attempts } = await withRetry((_, remaining) => this.submitTx(tx, { idempotent: true, timeoutMs: Math.min(perRequest, remaining) }), p);
    const answer = value as { id: string; status: string } & Partial<TxStatusView>;
    return { id: answer.id, status: answer.status, attempts, ...(answer.status === 'finalized' ? { finalized: answer as TxStatusView } : {}) };
  }

  /** Builds, signs and submits a tx of `kind` (with retries); with `wait`, waits for finality and verifies its block. */
  async send<K extends TxKind>(key: SigningKey, kind: K, payload: TxPayloadOf<K>, o: SendOptions = {}): Promise<SendResult<K>> {
    const signed = await this.buildTx(key, kind, payload, o);
    const submitted = await this.submitWithRetry(signed.tx, o.retry);
    if (o.wait === undefined || o.wait === false) return { id: signed.id, signed, submitted };
    const confirmation = await this.confirmTx(signed.id, o.wait === true ? {} : o.wait);
    return { id: signed.id, signed, submitted, confirmation };
  }

  // ------------------------------------------------------------------ one method per kind

  transfer(key: SigningKey, p: TxPayloadOf<'transfer'>, o?: SendOptions): Promise<SendResult<'transfer'>> {
    return this.send(key, 'transfer', p, o);
  }
  /** Governance: sets a validator's work weight (basis points). */
  setWorkWeight(key: SigningKey, p: TxPayloadOf<'validator_set_work_weight'>, o?: SendOptions): Promise<SendResult<'validator_set_work_weight'>> {
    return this.send(key, 'validator_set_work_weight', p, o);
  }
  /** Bonds self stake for the consensus key `pubKey` (creates the validator, or tops it up). */
  bond(key: SigningKey, p: TxPayloadOf<'validator_bond'>, o?: SendOptions): Promise<SendResult<'validator_bond'>> {
    return this.send(key, 'validator_bond', p, o);
  }
  unbond(key: SigningKey, p: TxPayloadOf<'validator_unbond'>, o?: SendOptions): Promise<SendResult<'validator_unbond'>> {
    return this.send(key, 'validator_unbond', p, o);
  }
  delegate(key: SigningKey, p: TxPayloadOf<'delegation_delegate'>, o?: SendOptions): Promise<SendResult<'delegation_delegate'>> {
    return this.send(key, 'delegation_delegate', p, o);
  }
  undelegate(key: SigningKey, p: TxPayloadOf<'delegation_undelegate'>, o?: SendOptions): Promise<SendResult<'delegation_undelegate'>> {
    return this.send(key, 'delegation_undelegate', p, o);
  }
  /** Governance slash (`{validatorId, fractionBps}`) or a slash by double-sign evidence (`{evidence: {a, b}}`). */
  slash(key: SigningKey, p: TxPayloadOf<'validator_slash'>, o?: SendOptions): Promise<SendResult<'validator_slash'>> {
    return this.send(key, 'validator_slash', p, o);
  }
  /** Slash by double-sign evidence: two signed messages of one validator for one height and round. */
  slashWithEvidence(key: SigningKey, evidence: { a: SignedMessage; b: SignedMessage }, o?: SendOptions): Promise<SendResult<'validator_slash'>> {
    return this.send(key, 'validator_slash', { evidence }, o);
  }
  jail(key: SigningKey, p: TxPayloadOf<'validator_jail'>, o?: SendOptions): Promise<SendResult<'validator_jail'>> {
    return this.send(key, 'validator_jail', p, o);
  }
  unjail(key: SigningKey, p: TxPayloadOf<'validator_unjail'>, o?: SendOptions): Promise<SendResult<'validator_unjail'>> {
    return this.send(key, 'validator_unjail', p, o);
  }

  // ------------------------------------------------------------------ product layer (docs/product.md)

  /** An oracle's attestation of a validator's work score for an ended epoch. */
  attest(key: SigningKey, p: TxPayloadOf<'product_attest'>, o?: SendOptions): Promise<SendResult<'product_attest'>> {
    return this.send(key, 'product_attest', p, o);
  }
  /** Challenges a finalized proof (locks a bond); the challenge's id is this tx's id. */
  challenge(key: SigningKey, p: TxPayloadOf<'product_challenge'>, o?: SendOptions): Promise<SendResult<'product_challenge'>> {
    return this.send(key, 'product_challenge', p, o);
  }
  /** An oracle's vote on an open challenge. */
  resolveChallenge(key: SigningKey, p: TxPayloadOf<'product_resolve_challenge'>, o?: SendOptions): Promise<SendResult<'product_resolve_challenge'>> {
    return this.send(key, 'product_resolve_challenge', p, o);
  }
  /**
   * Pays a validator, once per (payer, reference) for the chain's life. The
   * retries resend the same signed tx idempotently, so a retry never pays
   * twice; a new tx for a reference already settled fails SETTLEMENT_EXISTS
   * (look it up first with `settlementLookup`).
   */
  settle(key: SigningKey, p: TxPayloadOf<'product_settle'>, o?: SendOptions): Promise<SendResult<'product_settle'>> {
    return this.send(key, 'product_settle', p, o);
  }

  /** Governance: replaces the oracle set (its version goes up; pending attestations and challenge votes start over). */
  setOracles(key: SigningKey, p: TxPayloadOf<'product_set_oracles'>, o?: SendOptions): Promise<SendResult<'product_set_oracles'>> {
    return this.send(key, 'product_set_oracles', p, o);
  }

  /** Governance: schedules rule change `name` to take effect at `height` (at least 10 blocks ahead), or cancels it (height 0). */
  scheduleUpgrade(key: SigningKey, p: TxPayloadOf<'upgrade_schedule'>, o?: SendOptions): Promise<SendResult<'upgrade_schedule'>> {
    return this.send(key, 'upgrade_schedule', p, o);
  }

  /** `GET /product/billing/quote?amount=`. */
  async quote(amount: bigint): Promise<SettlementQuote> {
    const q = await this.call<Wire>('GET', `/product/billing/quote?amount=${amount.toString()}`);
    return {
      amount: amountOf(q.amount, 'quote.amount'),
      fee: amountOf(q.fee, 'quote.fee'),
      protocolFee: amountOf(q.protocolFee, 'quote.protocolFee'),
      net: amountOf(q.net, 'quote.net'),
      feeBps: Number(q.feeBps),
      total: amountOf(q.total, 'quote.total'),
    };
  }

  /** `GET /product/settlements/lookup`: the settlement of (payer, reference), or undefined if there is none. */
  async settlementLookup(payer: string, reference: string, o: { includePending?: boolean } = {}): Promise<{ status: 'finalized' | 'pending'; settlement: SettlementView } | undefined> {
    const q = new URLSearchParams({ payer, reference, ...(o.includePending === true ? { includePending: 'true' } : {}) });
    const r = await this.lookup<{ status: 'finalized' | 'pending'; settlement: Wire }>(`/product/settlements/lookup?${q.toString()}`);
    return r === undefined ? undefined : { status: r.status, settlement: settlementOf(r.settlement) };
  }

  /** `GET /product/proofs?validatorId=&epoch=`, or undefined. */
  proofOf(validatorId: string, epoch: number): Promise<Record<string, unknown> | undefined> {
    return this.lookup(`/product/proofs?validatorId=${validatorId}&epoch=${epoch}`);
  }

  /** `GET /product/challenges/:id`, or undefined. */
  challengeById(id: string): Promise<Record<string, unknown> | undefined> {
    return this.lookup(`/product/challenges/${id}`);
  }

  /** `GET /product/rewards?epoch=`: what the treasury paid for that epoch's proofs, or undefined (not paid yet, or no rewards). */
  rewardsOf(epoch: number): Promise<Record<string, unknown> | undefined> {
    return this.lookup(`/product/rewards?epoch=${epoch}`);
  }

  /** `GET /product/settlements/stats`: totals of settlements, by validator and by epoch (filters as query parameters). */
  settlementStats(q: { validatorId?: string; epoch?: number; fromEpoch?: number; toEpoch?: number } = {}): Promise<Record<string, unknown>> {
    const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    const qs = params.toString();
    return this.call('GET', `/product/settlements/stats${qs === '' ? '' : `?${qs}`}`);
  }

  /** `GET /validators`: the current validators with their stake, workWeight and status. */
  async validators(): Promise<Record<string, unknown>[]> {
    const r = await this.call<Record<string, unknown>[] | { items: Record<string, unknown>[] }>('GET', '/validators');
    return Array.isArray(r) ? r : r.items;
  }

  // ------------------------------------------------------------------ finality

  /** Polls until the tx is finalized or dropped, or the time runs out (then throws TX_TIMEOUT). */
  async waitForTx(id: string, opts: WaitOptions = {}): Promise<TxStatusView> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.getTx(id).catch((e: unknown) => {
        // Not known yet (another node, or a moment before admission), or a passing failure: poll again.
        if (e instanceof ApiError && (e.status === 404 || e.status >= 500 || e.status === 429)) return undefined;
        if (e instanceof Error && (e.name === 'TypeError' || e.name === 'TimeoutError' || e.name === 'AbortError')) return undefined;
        throw e;
      });
      if (st !== undefined && st.status !== 'pending') return st;
      if (Date.now() > deadline) throw new ClientError(ClientErrorCode.TX_TIMEOUT, `tx ${id} not finalized within ${timeoutMs} ms`, { id });
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  /** Waits until the tx is finalized (TX_DROPPED if the node dropped it, TX_TIMEOUT if the time runs out). */
  async waitForFinality(id: string, opts: WaitOptions = {}): Promise<Confirmation['status']> {
    const st = await this.waitForTx(id, opts);
    if (st.status === 'dropped') throw new ClientError(ClientErrorCode.TX_DROPPED, `tx ${id} was dropped: ${st.error ?? 'no reason given'}${st.message === undefined ? '' : ` (${st.message})`}`, { id, error: st.error });
    if (typeof st.height !== 'number' || typeof st.index !== 'number' || typeof st.blockHash !== 'string' || typeof st.success !== 'boolean') {
      throw new ClientError(ClientErrorCode.INVALID_RESPONSE, `the finalized status of tx ${id} lacks its height, index, blockHash or success`);
    }
    return st as Confirmation['status'];
  }

  /** The tracker of validator sets (created on first use, from the chain info and the trusted set). */
  private setTracker(): Promise<ValidatorSetTracker> {
    this.tracker ??= this.chainInfo().then(
      (info) =>
        new ValidatorSetTracker({
          chainId: info.chainId,
          epochLengthBlocks: info.epochLengthBlocks,
          source: { fetchSet: (epoch) => this.validatorSet(epoch), fetchBlock: (height) => this.block(height) },
          ...(this.opts.trustedSet === undefined ? {} : { trusted: this.opts.trustedSet }),
        }),
    );
    this.tracker.catch(() => {
      this.tracker = undefined;
    });
    return this.tracker;
  }

  /** The validator set of `epoch`, reached from the trusted set epoch by epoch and checked at each step. */
  async trackedSet(epoch: number): Promise<TrackedValidatorSet> {
    return (await this.setTracker()).setForEpoch(epoch);
  }

  /** Every set tracked so far. */
  async trackedSets(): Promise<TrackedValidatorSet[]> {
    return (await this.setTracker()).tracked();
  }

  /** Fetches the block at `height` and verifies it and its certificate against the tracked set of its epoch. */
  async verifyBlock(height: number): Promise<{ blockHash: string; epoch: number; signedPower: bigint; totalPower: bigint; setHash: string; block: FinalizedBlock }> {
    const { block, set, signedPower } = await (await this.setTracker()).verifyBlock(height);
    return { blockHash: block.hash, epoch: set.epoch, signedPower, totalPower: set.totalPower, setHash: set.hash, block };
  }

  /**
   * Waits for the tx to be finalized, fetches the block it landed in and
   * verifies it: the block is the one the status names, holds the tx at its
   * index with the reported result, and its certificate verifies against the
   * tracked validator set of its epoch. Throws CertificateError
   * (CERTIFICATE_REFUSED, VALIDATOR_SET_REFUSED) when it does not.
   */
  async confirmTx(id: string, opts: WaitOptions = {}): Promise<Confirmation> {
    const status = await this.waitForFinality(id, opts);
    const v = await this.verifyBlock(status.height);
    const refuse = (why: string): never => {
      throw new CertificateError(ClientErrorCode.CERTIFICATE_REFUSED, `tx ${id}: ${why}`, { id, height: status.height });
    };
    if (v.blockHash !== status.blockHash) refuse(`the node says block ${status.blockHash}, the certified block at height ${status.height} is ${v.blockHash}`);
    const at = v.block.block.txs[status.index];
    if (at === undefined || at.id !== id) refuse(`the certified block at height ${status.height} does not hold it at index ${status.index}`);
    const result = v.block.results[status.index];
    if (result === undefined || result.success !== status.success) refuse(`its result in the certified block is not the one the node reports`);
    return { status, height: status.height, epoch: v.epoch, blockHash: v.blockHash, signedPower: v.signedPower, totalPower: v.totalPower, setHash: v.setHash };
  }
}
