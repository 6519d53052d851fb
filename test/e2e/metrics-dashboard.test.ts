/**
 * The monitoring files in deploy/: every metric a panel of the Grafana
 * dashboard queries exists in a running node's /metrics, and the Prometheus
 * configuration parses and scrapes /metrics of the testnet's three nodes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TESTNET_DEFAULT_BASE_PORT } from '../../src/cli/testnet.js';
import { spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const tmp = tempDirs('fastpos-dashboard-');

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** PromQL words that are not metric names: aggregation clauses, operators and modifiers. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: strings, label matchers,
 * ranges, numbers and durations and the label lists of `by`/`without`/`on`/`ignoring` are removed;
 * what is left is function names (followed by a parenthesis), keywords,
 * numbers and metric names.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Numbers and durations (0.95, 5m, 1h30m).
    .replace(/(?<![a-zA-Z0-9_:])\d+(?:\.\d+)?(?:ms|[smhdwy])*/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (m[1] !== undefined) continue; // a function
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names].sort();
}

function panelsOf(list: readonly Panel[]): Panel[] {
  return list.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

describe('deploy/: the Grafana dashboard and the Prometheus configuration', { timeout: 60_000 }, () => {
  it('behavior: metricNames drops functions, label matchers, ranges, by-lists and keywords', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, instance) (rate(fastpos_x_bucket{instance=~"a|b", s="{x}"}[5m])))'), ['fastpos_x_bucket']);
    assert.deepEqual(metricNames('fastpos_a{i="1"} / on (i) group_left fastpos_b offset 5m'), ['fastpos_a', 'fastpos_b']);
  });

  it('behavior: every metric the dashboard queries exists on a running node', async () => {
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'fastpos-dashboard.json'), 'utf8')) as { panels: Panel[]; title: string; uid: string };
    assert.equal(typeof dashboard.title, 'string');
    const panels = panelsOf(dashboard.panels).filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 12, `${panels.length} panels`);
    const queried = new Map<string, string>();
    for (const p of panels) {
      assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has a query`);
      for (const t of p.targets ?? []) {
        assert.equal(typeof t.expr, 'string', `panel "${p.title}" has an expr`);
        for (const name of metricNames(t.expr!)) queried.set(name, p.title ?? '');
      }
    }
    // What the issue asks the dashboard to show.
    for (const name of ['fastpos_finalized_height', 'fastpos_blocks_finalized_total', 'fastpos_txs_finalized_total', 'fastpos_finality_latency_seconds_bucket', 'fastpos_peers_connected', 'fastpos_validators_online_power', 'fastpos_validators_total_power', 'fastpos_validator_missed_blocks_total', 'fastpos_validators_jailed', 'fastpos_validator_power', 'fastpos_sync_lag_blocks', 'fastpos_mempool_txs', 'fastpos_http_requests_total']) {
      assert.ok(queried.has(name), `the dashboard shows ${name}`);
    }

    const node = await spawnNode(join(tmp(), 'd'), ['--idle-block-interval-ms', '100']);
    try {
      const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      const types = new Map<string, string>();
      for (const line of (await res.text()).split('\n')) {
        const m = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (m !== null) types.set(m[1]!, m[2]!);
      }
      for (const [name, title] of queried) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const found = types.has(name) || (base !== name && types.get(base) === 'histogram');
        assert.ok(found, `panel "${title}" queries ${name}, which the node's /metrics does not have`);
      }
    } finally {
      await node.kill();
    }
  });

  it('behavior: the Prometheus configuration parses and scrapes /metrics of the testnet nodes on 127.0.0.1:26657-26659', () => {
    const config = parseYaml(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    assert.equal(config.scrape_configs.length, 1);
    const job = config.scrape_configs[0]!;
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    const targets = job.static_configs.flatMap((s) => s.targets);
    assert.deepEqual(targets, [0, 1, 2].map((i) => `127.0.0.1:${TESTNET_DEFAULT_BASE_PORT + i}`));
  });
});
