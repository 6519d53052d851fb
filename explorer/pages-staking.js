/**
 * Accounts and validators: an account's balance, nonce, txs and delegations;
 * the validators with power, work weight, jail status, missed blocks and
 * delegations; one validator in detail.
 * @module
 */
import { get, items } from './api.js';
import { amount, badge, card, el, hash, kv, replace, table } from './dom.js';
import { accountLink, blockLink, txTable, validatorLink } from './pages-chain.js';

/** Work weight in basis points as a factor: 10000 → "1.00×". */
const weight = (bps) => `${(Number(bps) / 10000).toFixed(2)}×`;

function statusOf(v) {
  if (v.status === 'jailed') return badge(`jailed until #${v.jailedUntil}`, 'bad');
  if (v.status === 'unbonding') return badge('unbonding', 'warn');
  return badge(v.status, 'good');
}

// ------------------------------------------------------------------ account

export async function renderAccount(root, ctx, address) {
  const handle = {
    refresh: async () => {
      const [a, txs, pending, delegations, validators] = await Promise.all([
        get(`/accounts/${address}`),
        get(`/tx/finalized?address=${address}&limit=20`),
        get(`/tx/pending?from=${address}&limit=20`),
        get(`/delegations?delegator=${address}`),
        get('/validators'),
      ]);
      const operated = items(validators).filter((v) => v.rewardAddress === address || v.id === address);
      replace(root,
        el('h1', { text: 'Account' }),
        card(undefined, kv([
          ['address', hash(address, undefined, 40)],
          ['balance', el('span', { className: 'big', attrs: { 'data-testid': 'balance' }, text: amount(a.balance) })],
          ['nonce', el('span', { attrs: { 'data-testid': 'nonce' }, text: String(a.nonce) })],
          ['next nonce (with pending txs)', String(a.pendingNonce)],
          ['validators', operated.length === 0 ? undefined : el('span', {}, operated.map((v) => validatorLink(v.id)))],
        ], 'account-fields')),
        card(`Recent transactions (${items(txs).length})`, txTable(items(txs), 'account-txs', 'no finalized tx')),
        items(pending).length === 0 ? null : card('Pending transactions', txTable(items(pending), 'account-pending')),
        card('Delegations', table([
          { label: 'validator', cell: (d) => validatorLink(d.validatorId) },
          { label: 'shares', cell: (d) => amount(d.shares), className: 'num' },
          { label: 'worth', cell: (d) => amount(d.amount), className: 'num' },
        ], delegations.delegations ?? [], { empty: 'no delegation' }),
        (delegations.unbonding ?? []).length === 0 ? null : table([
          { label: 'unbonding from', cell: (u) => validatorLink(u.validatorId) },
          { label: 'amount', cell: (u) => amount(u.amount), className: 'num' },
          { label: 'paid at', cell: (u) => blockLink(u.completionHeight) },
        ], delegations.unbonding)));
      return handle;
    },
  };
  return handle.refresh();
}

// ------------------------------------------------------------------ validators

/** At most this many validators get their missed blocks read (one request each). */
const MAX_DETAILS = 100;

export async function renderValidators(root) {
  const [list, epoch] = await Promise.all([get('/validators'), get('/epochs/current')]);
  const vals = items(list);
  const details = new Map();
  await Promise.all(vals.slice(0, MAX_DETAILS).map(async (v) => details.set(v.id, await get(`/validators/${v.id}`))));
  replace(root,
    el('h1', { text: 'Validators' }),
    card(`Epoch ${epoch.epoch}`, kv([
      ['heights', `#${epoch.startHeight} – #${epoch.endHeight} (${epoch.epochLengthBlocks} blocks an epoch)`],
      ['validators in the set', String(epoch.validators)],
      ['total voting power', amount(epoch.totalPower)],
      ['set hash', hash(epoch.setHash)],
    ])),
    card(`All validators (${vals.length})`, table([
      { label: 'validator', cell: (v) => validatorLink(v.id) },
      { label: 'status', cell: statusOf },
      { label: 'in set', cell: (v) => (v.inSet ? 'yes' : 'no') },
      { label: 'voting power', cell: (v) => amount(v.votingPower), className: 'num' },
      { label: 'work weight', cell: (v) => weight(v.workWeight), className: 'num' },
      { label: 'self stake', cell: (v) => amount(v.stake), className: 'num' },
      { label: 'delegated', cell: (v) => amount(v.delegated), className: 'num' },
      { label: 'missed', cell: (v) => { const d = details.get(v.id); return d === undefined ? '–' : String(d.missed.length); }, className: 'num' },
      { label: 'operator', cell: (v) => accountLink(v.rewardAddress) },
    ], vals, { testid: 'validators', rowData: (v) => ({ id: v.id }), empty: 'no validator' })));
}

export async function renderValidator(root, _ctx, id) {
  const v = await get(`/validators/${id}`);
  replace(root,
    el('h1', { text: 'Validator' }),
    card(undefined, kv([
      ['id', hash(v.id, undefined, 40)],
      ['status', statusOf(v)],
      ['in the current set', v.inSet ? 'yes' : 'no'],
      ['voting power', amount(v.votingPower)],
      ['work weight', `${weight(v.workWeight)} (${v.workWeight} bps)`],
      ['self stake', amount(v.stake)],
      ['delegated', `${amount(v.delegated)} (${amount(v.delegatorShares)} shares)`],
      ['operator', accountLink(v.operator)],
      ['consensus key', hash(v.pubKey)],
      ['missed blocks (window)', v.missed.length === 0 ? '0' : el('span', {}, `${v.missed.length}: `, v.missed.slice(-20).map((h) => [blockLink(h), ' ']))],
      ['double-sign punishment', v.doubleSignPunishment === null ? 'none' : `at #${v.doubleSignPunishment.punishedAt} for #${v.doubleSignPunishment.infractionHeight}`],
    ], 'validator-fields')),
    card('Slashes', table([
      { label: 'height', cell: (s) => blockLink(s.height) },
      { label: 'reason', cell: (s) => s.reason },
      { label: 'fraction', cell: (s) => `${s.fractionBps / 100}%`, className: 'num' },
      { label: 'burned', cell: (s) => amount(s.burned), className: 'num' },
    ], v.slashes, { empty: 'never slashed' })),
    card('Unbonding', table([
      { label: 'delegator', cell: (u) => accountLink(u.delegator) },
      { label: 'amount', cell: (u) => amount(u.amount), className: 'num' },
      { label: 'paid at', cell: (u) => blockLink(u.completionHeight) },
    ], v.unbonding, { empty: 'nothing unbonding' })));
}
