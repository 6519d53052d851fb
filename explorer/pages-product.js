/**
 * The product layer (docs/product.md): the oracle set and its parameters,
 * and the latest proofs, attestations, challenges, settlements and rewards,
 * each as the node's list routes serve them, in plain tables. Strings such
 * as a proofRef or a settlement reference are chosen by whoever sent the tx:
 * they are written as text.
 * @module
 */
import { get, items } from './api.js';
import { amount, card, el, hash, kv, replace, table } from './dom.js';
import { accountLink, blockLink, validatorLink } from './pages-chain.js';

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_COLUMNS = 9;

/** One value of a record: addresses link to their page, heights to their block, hashes shortened. */
function cell(key, value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return el('code', { className: 'json', text: JSON.stringify(value) });
  const s = String(value);
  if (HEX40.test(s)) return key === 'validatorId' ? validatorLink(s) : accountLink(s);
  if (HEX64.test(s)) return hash(s);
  if (key === 'height' && /^\d+$/.test(s)) return blockLink(s);
  if (typeof value === 'string' && /^\d{4,}$/.test(s)) return amount(s);
  return el('span', { className: 'value', text: s });
}

/** A table of records with the keys of the first ones as columns. */
function records(list, testid) {
  const keys = [...new Set(list.slice(0, 5).flatMap((r) => Object.keys(r)))].slice(0, MAX_COLUMNS);
  return table(keys.map((k) => ({ label: k, cell: (r) => cell(k, r[k]) })), list, { testid, empty: 'none yet' });
}

const LISTS = [
  ['Proofs', '/product/proofs?limit=20', 'product-proofs'],
  ['Attestations', '/product/attestations?limit=20', 'product-attestations'],
  ['Challenges', '/product/challenges?limit=20', 'product-challenges'],
  ['Settlements', '/product/settlements?limit=20', 'product-settlements'],
  ['Rewards', '/product/rewards?limit=20', 'product-rewards'],
];

export async function renderProduct(root) {
  const [oracles, ...lists] = await Promise.all([get('/product/oracles'), ...LISTS.map(([, path]) => get(path))]);
  replace(root,
    el('h1', { text: 'Product' }),
    card(`Oracles (set version ${oracles.version})`,
      table([
        { label: 'oracle', cell: (o) => accountLink(o.address) },
        { label: 'stake', cell: (o) => amount(o.stake), className: 'num' },
      ], oracles.oracles, { testid: 'product-oracles', empty: 'no oracle in this chain' }),
      el('details', {}, el('summary', { text: 'parameters' }), kv(Object.entries(oracles.params ?? {}).map(([k, v]) => [k, cell(k, v)])))),
    LISTS.map(([title, , testid], i) => card(`${title} (latest ${items(lists[i]).length})`, records(items(lists[i]), testid))));
}
