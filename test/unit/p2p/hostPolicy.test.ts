/** The host policy of discovered peer URLs: what counts as loopback, private and forbidden, and the lookup that holds DNS names to it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAddress, createPolicyLookup, refusePeerUrl, type HostPolicy } from '../../../src/p2p/hostPolicy.js';
import { normalizePeerUrl } from '../../../src/p2p/peers.js';

const ALL: HostPolicy = { loopback: true, private: true, dns: true };
const NONE: HostPolicy = { loopback: false, private: false, dns: false };

describe('host policy', () => {
  it('default: addresses are classified, IPv4-mapped IPv6 as their IPv4 address', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'], ['127.200.0.9', 'loopback'], ['::1', 'loopback'], ['::ffff:7f00:1', 'loopback'],
      ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.0.1', 'private'],
      ['100.64.0.1', 'private'], ['169.254.169.254', 'private'], ['fd12::1', 'private'], ['fe80::1', 'private'], ['::ffff:a00:1', 'private'],
      ['0.0.0.0', 'forbidden'], ['0.1.2.3', 'forbidden'], ['::', 'forbidden'], ['224.0.0.1', 'forbidden'], ['255.255.255.255', 'forbidden'],
      ['ff02::1', 'forbidden'], ['::7f00:1', 'forbidden'], ['not-an-ip', 'forbidden'],
      ['8.8.8.8', 'public'], ['172.32.0.1', 'public'], ['2606:4700::1', 'public'],
    ];
    for (const [a, kind] of cases) assert.equal(classifyAddress(a), kind, a);
  });

  it('behavior: each class is refused when its key is off; forbidden ones always; localhost names are loopback', () => {
    const urls = [
      'http://127.0.0.1:1', 'http://[::1]:1', 'http://localhost.:1', 'http://a.localhost:1', 'http://2130706433:1', 'http://[::ffff:127.0.0.1]:1',
      'http://10.0.0.1:1', 'http://[fd00::1]:1', 'http://169.254.169.254:80',
      'http://example.org:1', 'http://8.8.8.8:1',
      'http://0.0.0.0:1', 'http://[::]:1', 'http://224.0.0.1:1',
    ].map((u) => normalizePeerUrl(u)!);
    const allowed = (p: HostPolicy): string[] => urls.filter((u) => refusePeerUrl(u, p) === null);
    assert.deepEqual(allowed(ALL), urls.slice(0, 11));
    assert.deepEqual(allowed(NONE), ['http://8.8.8.8:1']);
    assert.deepEqual(allowed({ ...NONE, loopback: true }), [...urls.slice(0, 6), 'http://8.8.8.8:1']);
    assert.deepEqual(allowed({ ...NONE, private: true }), [...urls.slice(6, 9), 'http://8.8.8.8:1']);
    assert.deepEqual(allowed({ ...NONE, dns: true }), ['http://example.org:1', 'http://8.8.8.8:1']);
  });

  it('behavior: the connection lookup keeps only the addresses the policy allows', async () => {
    const lookup = (p: HostPolicy, all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        createPolicyLookup(p)('localhost', { all }, (err, address) => resolve({ err, address })),
      );
    const refused = await lookup({ ...ALL, loopback: false }, false);
    assert.equal(refused.err?.code, 'EPEERHOSTPOLICY');
    const ok = await lookup(ALL, false);
    assert.equal(ok.err, null);
    assert.equal(classifyAddress(ok.address as string), 'loopback');
    const list = await lookup(ALL, true);
    assert.ok(Array.isArray(list.address) && list.address.length >= 1);
  });
});
