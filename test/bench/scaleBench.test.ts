/**
 * The scale scenario and the figures it collects: peer-link counters per
 * height and node (and "n/a" when the nodes do not export them), the options
 * passed on to each row, the table, and a tiny matrix run against real node
 * processes (one validator, empty state and 100 extra accounts). No timing is
 * asserted.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { formatTraffic, parseMetrics, trafficPerHeight } from '../../src/bench/nodeFigures.js';
import { passedOn, runScaleScenario, scaleTable } from '../../src/bench/scaleBench.js';

const BENCH = fileURLToPath(new URL('../../dist/bench/bench.js', import.meta.url));

const metricsText = (sent: number, received: number, bytes: number): string =>
  [
    '# HELP fastpos_p2p_messages_sent_total Messages sent',
    '# TYPE fastpos_p2p_messages_sent_total counter',
    `fastpos_p2p_messages_sent_total{kind="prevote"} ${sent}`,
    `fastpos_p2p_messages_sent_total{kind="txs"} ${sent * 2}`,
    `fastpos_p2p_messages_received_total{kind="prevote"} ${received}`,
    `fastpos_p2p_bytes_sent_total{channel="stream"} ${bytes}`,
    `fastpos_p2p_bytes_sent_total{channel="http"} ${bytes / 10}`,
    'fastpos_block_txs_count 3',
    '',
  ].join('\n');

describe('scale scenario figures', () => {
  test('default: counters grow per height and node, tx batches apart from consensus kinds', () => {
    const before = [parseMetrics(metricsText(10, 5, 1000)), parseMetrics(metricsText(20, 5, 1000))];
    const after = [parseMetrics(metricsText(30, 25, 5000)), parseMetrics(metricsText(60, 45, 9000))];
    // Growth over 2 nodes and 4 heights: prevotes (20 + 40) / 8, tx batches (40 + 80) / 8.
    const sent = trafficPerHeight('messagesSent', before, after, 4)!;
    assert.equal(sent.consensus, 7.5);
    assert.equal(sent.txs, 15);
    assert.equal(sent.total, 22.5);
    assert.deepEqual(sent.byLabel, { prevote: 7.5, txs: 15 });
    assert.equal(trafficPerHeight('messagesReceived', before, after, 4)!.consensus, 7.5);
    assert.match(formatTraffic('messages sent', sent, 'messages'), /consensus 7\.50, tx batches 15\.00/);
    // Bytes are by channel, consensus and tx batches together: (4000 + 8000) / 8 on streams, (400 + 800) / 8 over HTTP.
    const bytes = trafficPerHeight('bytesSent', before, after, 4)!;
    assert.equal(bytes.total, 1650);
    assert.equal(bytes.consensus, null);
    assert.deepEqual(bytes.byLabel, { http: 150, stream: 1500 });
    assert.match(formatTraffic('bytes sent', bytes, 'bytes'), /bytes sent: 1650 B, consensus and tx batches together \(http 150 B, stream 1500 B\)/);
  });

  test('behavior: a counter no node exports is null and printed as n/a', () => {
    const m = [parseMetrics('fastpos_block_txs_count 3\n')];
    assert.equal(trafficPerHeight('bytesReceived', m, m, 10), null);
    assert.match(formatTraffic('bytes received', null, 'bytes'), /n\/a/);
  });

  test('behavior: the scenario\'s own options are not passed on to the rows, the others are', () => {
    assert.deepEqual(
      passedOn(['--scenario', 'scale', '--node-counts=1,4', '--accounts', '5', '--rate', '100', '--start-args', '--min-block-interval-ms 50', '--keep']),
      ['--rate', '100', '--start-args', '--min-block-interval-ms 50', '--keep'],
    );
  });

  test('behavior: a failed row is shown as failed and the table keeps its columns', () => {
    const lines = scaleTable([{ nodes: 10, accounts: 1_000_000, ok: false, error: 'bench failed: Error: a | b' }]);
    const columns = lines[0]!.split('|').length;
    assert.equal(lines[2]!.split('|').length, columns);
    assert.match(lines[2]!, /failed: bench failed: Error: a \/ b/);
  });

  test('behavior: a tiny matrix against real nodes gives one row per validator count and state', async () => {
    const out: string[] = [];
    const rows = await runScaleScenario({
      nodeCounts: '1',
      accounts: 100,
      argv: ['--scenario', 'scale', '--senders', '5', '--txs-per-sender', '2', '--warmup-txs', '0', '--concurrency', '4'],
      benchScript: BENCH,
      out: (l) => out.push(l),
    });
    assert.equal(rows.length, 2, out.join('\n'));
    for (const [i, r] of rows.entries()) {
      assert.ok(r.ok, out.join('\n'));
      if (!r.ok) continue;
      assert.equal(r.s.nodes, 1);
      assert.equal(r.s.extraAccounts, i === 0 ? 0 : 100);
      assert.equal(r.s.sent, 10);
      assert.equal(r.s.finalized, 10);
      assert.ok(r.s.peakMemMiB > 0 && r.s.startRssMiB > 0);
      assert.ok(r.s.heights >= 1);
    }
    if (rows[0]!.ok && rows[1]!.ok) assert.ok(rows[1]!.s.genesisBytes > rows[0]!.s.genesisBytes);
    const table = out.filter((l) => l.startsWith('| 1 |'));
    assert.equal(table.length, 2, out.join('\n'));
    assert.match(table[1]!, /^\| 1 \| 100 \|/);
    // The large-state row compares its ratio with the empty-state row's.
    assert.match(table[1]!.split('|')[6]!, /^ \d+\.\d\d× $/);
    assert.equal(table[0]!.split('|')[6], '  ');
  });
});
