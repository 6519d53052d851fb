/**
 * Prometheus metrics of one node as a typed object on its own registry (so
 * several nodes can live in one process, as the tests and simulations do).
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'fastpos_' });
  const r = [registry];
  return {
    registry,
    finalizedHeight: new Gauge({ name: 'fastpos_finalized_height', help: 'Height of the latest finalized block', registers: r }),
    blocksFinalized: new Counter({ name: 'fastpos_blocks_finalized_total', help: 'Blocks finalized by this node', registers: r }),
    txsFinalized: new Counter({ name: 'fastpos_txs_finalized_total', help: 'Txs finalized, by result', labelNames: ['result'] as const, registers: r }),
    blockTxs: new Histogram({
      name: 'fastpos_block_txs',
      help: 'Txs per finalized block',
      buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers: r,
    }),
    finalityLatency: new Histogram({
      name: 'fastpos_finality_latency_seconds',
      help: 'Time from tx admission to finalization on this node',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    blockCommitSeconds: new Histogram({
      name: 'fastpos_block_commit_seconds',
      help: 'Time to make one finalized block durable in the store',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: r,
    }),
    blockBuildSeconds: new Histogram({
      name: 'fastpos_block_build_seconds',
      help: 'Time to build and execute one block',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: r,
    }),
    signatureWait: new Histogram({
      name: 'fastpos_tx_signature_wait_seconds',
      help: 'Time an admitted tx waits for its signature check (queue, hand-over and verification)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: r,
    }),
    consensusRound: new Histogram({
      name: 'fastpos_consensus_decided_round',
      help: 'Round in which each block was decided (0 = first try; more means proposer faults or slow votes)',
      buckets: [0, 1, 2, 3, 5, 10],
      registers: r,
    }),
    consensusPhase: new Histogram({
      name: 'fastpos_consensus_phase_seconds',
      help: 'Where a height\'s time goes on this node: proposal = from the previous commit to having the proposal (built or received), prevote = checking it until this node\'s prevote, precommit = waiting for 2/3 prevotes, decided = waiting for 2/3 precommits, commit = making the block durable',
      labelNames: ['phase'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    evidence: new Counter({ name: 'fastpos_equivocation_evidence_total', help: 'Equivocations seen (two different signed messages of one validator for one position)', labelNames: ['type'] as const, registers: r }),
    mempoolSize: new Gauge({ name: 'fastpos_mempool_txs', help: 'Txs waiting in the mempool', registers: r }),
    mempoolBytes: new Gauge({ name: 'fastpos_mempool_bytes', help: 'Bytes of txs waiting in the mempool (their encoded size)', registers: r }),
    mempoolMemoryBytes: new Gauge({
      name: 'fastpos_mempool_memory_bytes',
      help: 'Estimated memory held by the txs waiting in the mempool: what mempoolMaxBytes limits',
      registers: r,
    }),
    mempoolDropped: new Counter({
      name: 'fastpos_mempool_dropped_total',
      help: 'Txs dropped from the mempool, by reason (evicted, expired, replaced, stale_nonce, insufficient_funds, ...)',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    txRejected: new Counter({ name: 'fastpos_tx_rejected_total', help: 'Txs refused at admission, by error code', labelNames: ['code'] as const, registers: r }),
    txSignatureChecks: new Counter({
      name: 'fastpos_tx_signature_checks_total',
      help: 'Tx signatures checked, by where (admission: submitted or gossiped; block: a proposed or synced block carried a tx this node did not hold)',
      labelNames: ['path'] as const,
      registers: r,
    }),
    txSignatureReused: new Counter({
      name: 'fastpos_tx_signature_reused_total',
      help: 'Txs admitted without checking their signature again: it was checked already in a proposed block',
      registers: r,
    }),
    txAccepted: new Counter({ name: 'fastpos_tx_accepted_total', help: 'Txs admitted to the mempool', registers: r }),
    proposals: new Counter({ name: 'fastpos_validator_proposals_total', help: 'Blocks proposed with a key this node holds', labelNames: ['validator'] as const, registers: r }),
    votes: new Counter({ name: 'fastpos_validator_votes_total', help: 'Votes signed with a key this node holds, by type', labelNames: ['validator', 'type'] as const, registers: r }),
    httpConnectionsOverLimit: new Counter({
      name: 'fastpos_http_connections_over_limit_total',
      help: 'Connections over maxConnections, by whether they got an answer (503 TOO_MANY_CONNECTIONS) or were closed at once (beyond twice the limit)',
      labelNames: ['answered'] as const,
      registers: r,
    }),
    syncing: new Gauge({ name: 'fastpos_sync_active', help: 'Whether this node is syncing, by mode (snapshot or blocks): 1 while it does', labelNames: ['mode'] as const, registers: r }),
    syncTargetHeight: new Gauge({ name: 'fastpos_sync_target_height', help: 'Height the sync in progress is heading for (0 when not syncing)', registers: r }),
    syncProgress: new Gauge({ name: 'fastpos_sync_progress_ratio', help: 'Share of the sync in progress done, 0 to 1 (state entries for a snapshot, blocks otherwise)', registers: r }),
    syncRate: new Gauge({ name: 'fastpos_sync_rate', help: 'Speed of the sync in progress: state entries per second (snapshot) or blocks per second', registers: r }),
    syncEtaSeconds: new Gauge({ name: 'fastpos_sync_eta_seconds', help: 'Estimated seconds until the sync in progress ends (-1 when unknown)', registers: r }),
    snapshotsTaken: new Counter({ name: 'fastpos_state_snapshots_taken_total', help: 'State snapshots taken for peers to sync from', registers: r }),
    snapshotSeconds: new Gauge({ name: 'fastpos_state_snapshot_last_seconds', help: 'Time the last state snapshot took to take', registers: r }),
    peersConnected: new Gauge({ name: 'fastpos_peers_connected', help: 'Peers that answered this node and have not failed since (fewer than 3 failed requests in a row)', registers: r }),
    peersKnown: new Gauge({ name: 'fastpos_peers_known', help: 'Peers in the peer book (configured, added by an operator or discovered)', registers: r }),
    onlinePower: new Gauge({
      name: 'fastpos_validators_online_power',
      help: 'Voting power of the current set\'s validators whose precommits are in one of the commit certificates of the last 5 finalized heights',
      registers: r,
    }),
    totalPower: new Gauge({ name: 'fastpos_validators_total_power', help: 'Total voting power of the validator set deciding the next height', registers: r }),
    validatorMissed: new Counter({
      name: 'fastpos_validator_missed_blocks_total',
      help: 'Heights whose commit certificate (as carried by the next block, the one the chain counts for downtime) lacks this member of the set, since this node started',
      labelNames: ['validator'] as const,
      registers: r,
    }),
    validatorDowntimeMissed: new Gauge({
      name: 'fastpos_validator_downtime_missed',
      help: 'Heights the chain counts as missed by the validator within the downtime window (downtimeMaxMissed of them jails it)',
      labelNames: ['validator'] as const,
      registers: r,
    }),
    validatorsJailed: new Gauge({ name: 'fastpos_validators_jailed', help: 'Validators whose status is jailed', registers: r }),
    validatorJailed: new Gauge({ name: 'fastpos_validator_jailed', help: 'Whether the validator is jailed (1) or not (0)', labelNames: ['validator'] as const, registers: r }),
    validatorPower: new Gauge({
      name: 'fastpos_validator_power',
      help: 'Voting power of each validator in the set deciding the next height (0 for a validator out of the set)',
      labelNames: ['validator'] as const,
      registers: r,
    }),
    syncLag: new Gauge({ name: 'fastpos_sync_lag_blocks', help: 'Best height peers reported in the last 30 s minus this node\'s height (0 when none is ahead)', registers: r }),
    p2pMessagesSent: new Counter({
      name: 'fastpos_p2p_messages_sent_total',
      help: 'Validator-network messages sent to peers (one per peer), by kind: proposal, prevote, precommit, finalize (consensus envelopes) or txs (a tx batch); streams and HTTP POSTs alike',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    p2pMessagesReceived: new Counter({
      name: 'fastpos_p2p_messages_received_total',
      help: 'Validator-network messages received from peers (refused ones included), by kind: proposal, prevote, precommit, finalize, other (an envelope of no known type) or txs (a tx batch); streams and HTTP POSTs alike',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    p2pBytesSent: new Counter({
      name: 'fastpos_p2p_bytes_sent_total',
      help: 'Bytes of consensus messages and tx batches sent to peers (frame or request bodies), by channel: stream or http',
      labelNames: ['channel'] as const,
      registers: r,
    }),
    p2pBytesReceived: new Counter({
      name: 'fastpos_p2p_bytes_received_total',
      help: 'Bytes of consensus messages and tx batches received from peers (frame or request bodies), by channel: stream or http',
      labelNames: ['channel'] as const,
      registers: r,
    }),
    p2pStreamDrops: new Counter({
      name: 'fastpos_p2p_stream_drops_total',
      help: 'Stream traffic dropped, by reason: tx_overflow and envelope_overflow (a peer\'s send buffer was full: oldest tx batches first), and inbound streams closed for invalid_json, bad_frame, too_large, flood, idle or too_many_streams',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    p2pStreamRefused: new Counter({
      name: 'fastpos_p2p_stream_refused_total',
      help: 'Messages received on streams and refused (the stream stays open), by error code: what POST /p2p/message or /p2p/txs would have answered',
      labelNames: ['code'] as const,
      registers: r,
    }),
    p2pStreamsOpen: new Gauge({ name: 'fastpos_p2p_streams_open', help: 'Peer streams open, by direction: out (this node sends) or in (a peer sends)', labelNames: ['direction'] as const, registers: r }),
    httpRequests: new Counter({ name: 'fastpos_http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['method', 'route', 'status'] as const, registers: r }),
    httpDuration: new Histogram({
      name: 'fastpos_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
