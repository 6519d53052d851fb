import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createChainStore } from '../../../src/storage/index.js';
import { decodeGenesis, genesisHash } from '../../../src/state/genesis.js';
import { verifyChain } from '../../../src/cli/verifyChain.js';
import { startTestNode, waitForHeight } from '../../helpers/node.js';

describe('POST /admin/backup', () => {
  for (const backend of ['sqlite', 'snapshot'] as const) {
    it(`behavior: writes a consistent copy of the chain store that opens at least at the answered height (${backend})`, async () => {
      const n = await startTestNode({ config: { adminToken: 'backup-admin-token-0123456789', stateBackend: backend } });
      try {
        await waitForHeight(n, 2);
        const r = await n.app.inject({ method: 'POST', url: '/admin/backup', payload: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer backup-admin-token-0123456789' } });
        assert.equal(r.statusCode, 200, r.body);
        const { dir, height } = r.json() as { dir: string; height: number };
        assert.ok(dir.startsWith(join(n.dir, 'backups')));
        assert.ok(existsSync(join(dir, backend === 'sqlite' ? 'chain.sqlite' : 'state.json')));
        const copy = createChainStore(backend, dir, { writerThread: false });
        const loaded = copy.open();
        assert.equal(loaded.genesisHash, n.node.genesisHash);
        assert.ok(loaded.height >= height, `backup at ${loaded.height}, answered ${height}`);
        assert.equal(copy.getBlock(height)?.hash, n.node.getBlock(height)?.hash);
        await copy.close();
        // Self-contained: the copy carries its genesis, and verify-chain replays it clean.
        assert.equal(genesisHash(decodeGenesis(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')))), n.node.genesisHash);
        assert.ok(!existsSync(join(dir, 'priv_validator_state.json')) && !existsSync(join(dir, 'validator_key.json')), 'no keys, no guard record');
        const report = await verifyChain({ dataDir: dir, stateBackend: backend });
        assert.ok(report.height >= height);
        const denied = await n.app.inject({ method: 'POST', url: '/admin/backup', payload: '{}', headers: { 'content-type': 'application/json' } });
        assert.equal(denied.statusCode, 401);
      } finally {
        await n.dispose();
      }
    });
  }
});
