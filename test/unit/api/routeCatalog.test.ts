import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROUTE_SUMMARIES, routeTag } from '../../../src/api/routeCatalog.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { decodeGenesis, defaultDevnetGenesis, genesisHash } from '../../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS } from '../../../src/state/product.js';
import type { Genesis } from '../../../src/types/index.js';
import { startTestNode, type TestNode } from '../../helpers/node.js';

describe('route catalog', () => {
  it('routeTag: admin by prefix and for the peer-book writes, validator network, dev, public otherwise', () => {
    assert.equal(routeTag('POST', '/admin/backup'), 'admin');
    assert.equal(routeTag('POST', '/p2p/peers'), 'admin');
    assert.equal(routeTag('DELETE', '/p2p/peers'), 'admin');
    assert.equal(routeTag('GET', '/p2p/peers'), 'validator-network');
    assert.equal(routeTag('GET', '/sync/snapshot'), 'validator-network');
    assert.equal(routeTag('POST', '/dev/transfer'), 'dev');
    assert.equal(routeTag('GET', '/status'), 'public');
    assert.equal(routeTag('GET', '/administrator'), 'public');
  });

  describe('on a node with a product layer', () => {
    let n: TestNode;
    const oracle = devAccount(20);
    const base = defaultDevnetGenesis();
    const genesis: Genesis = {
      ...base,
      accounts: [...base.accounts, { address: oracle.address, balance: 1_000_000n }],
      product: { oracles: [{ address: oracle.address, stake: 1_000n }], params: DEFAULT_PRODUCT_PARAMS },
    };
    before(async () => {
      n = await startTestNode({ genesis, config: { adminToken: 'route-catalog-admin-token' } });
    });
    after(async () => {
      await n.dispose();
    });

    it('every summary kept apart from its route names a route the node serves (none is stale)', async () => {
      const index = (await (await fetch(`${n.url}/`)).json()) as { routes: { method: string; path: string; summary?: string }[] };
      const served = new Set(index.routes.map((r) => `${r.method} ${r.path}`));
      const stale = Object.keys(ROUTE_SUMMARIES).filter((k) => !served.has(k));
      assert.deepEqual(stale, []);
    });

    it('GET /genesis: the product section is served and hashes to the node\'s genesis hash', async () => {
      const body = (await (await fetch(`${n.url}/genesis`)).json()) as { product?: { oracles: unknown[] } };
      assert.equal(body.product?.oracles.length, 1);
      const status = (await (await fetch(`${n.url}/status`)).json()) as { genesisHash: string };
      assert.equal(genesisHash(decodeGenesis(body)), status.genesisHash);
      assert.equal(status.genesisHash, genesisHash(genesis));
    });
  });
});
