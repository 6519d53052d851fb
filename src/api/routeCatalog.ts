/**
 * The routes a server serves, as they are registered: one `onRoute` hook
 * (added before any route) gives each route's schema its OpenAPI tag, a
 * short summary where the route has none, and the admin bearer scheme on
 * admin operations, and keeps the list that `GET /` answers. The OpenAPI
 * document (openapi.ts) is generated from the same schemas, so the index
 * and the document cannot drift from what is served.
 * @module
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

/** The tags of the API document, one per audience. */
export const TAGS = [
  { name: 'public', description: 'Chain reads, tx submission, health and this index: what wallets, explorers and tools use.' },
  { name: 'admin', description: 'Operator controls; every call needs `Authorization: Bearer <adminToken>` (disabled without an adminToken).' },
  { name: 'validator-network', description: 'Between nodes: consensus messages, tx gossip, peers, sync and state snapshots.' },
  { name: 'dev', description: 'Development helpers (node-side signing with the public dev keys); off unless devSigning is set.' },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

/** The name of the admin bearer-token scheme in the document's components. */
export const ADMIN_SECURITY = 'adminToken';

/** Admin operations outside `/admin/`: they check the admin token themselves. */
const ADMIN_ELSEWHERE = new Set(['POST /p2p/peers', 'DELETE /p2p/peers']);

/** Short summaries of routes registered without one in their schema. */
export const ROUTE_SUMMARIES: Readonly<Record<string, string>> = {
  'GET /status': 'The node and its chain: ids, latest block, epoch, peers, sync and production state',
  'GET /validators': 'Validators (a page of all, or one epoch\'s set with ?epoch=)',
  'GET /validators/:id': 'One validator: stake, power, status, missed blocks, slashes, unbonding',
  'GET /delegations': 'Delegations and unbondings of one delegator',
  'GET /epochs/current': 'The current epoch and its validator set',
  'GET /admin/evidence': 'Equivocation evidence seen and pending',
  'POST /admin/evidence': 'Submit equivocation evidence',
  'POST /admin/validators/:id/slash': 'Slash a validator (a governance tx)',
  'POST /admin/validators/:id/jail': 'Jail a validator (a governance tx)',
  'GET /admin/epochs/next': 'Dry run of the next epoch\'s validator set',
  'GET /product/oracles': 'The oracle set',
  'GET /product/proofs': 'Proofs (filtered, paged)',
  'GET /product/proofs/:id': 'One proof',
  'GET /product/attestations': 'Attestations (filtered, paged)',
  'GET /product/attestations/pending': 'Pending attestations',
  'GET /product/attestations/stats': 'Attestation statistics by epoch',
  'POST /product/attestations': 'Submit a signed product_attest tx',
  'GET /product/challenges': 'Challenges (filtered, paged)',
  'GET /product/challenges/stats': 'Challenge statistics',
  'GET /product/challenges/:id': 'One challenge',
  'POST /product/challenges': 'Submit a signed product_challenge tx',
  'POST /product/challenges/resolve': 'Submit a signed product_resolve_challenge tx',
  'GET /product/billing/quote': 'Quote the fee split of a settlement amount',
  'GET /product/settlements': 'Settlements (filtered, paged)',
  'GET /product/settlements/lookup': 'One settlement by payer and reference',
  'GET /product/settlements/stats': 'Settlement statistics by epoch and validator',
  'POST /product/settlements': 'Submit a signed product_settle tx',
  'GET /product/rewards': 'Product rewards by epoch',
  'POST /p2p/message': 'A signed consensus message (proposal, vote, certificate)',
  'POST /p2p/txs': 'Tx gossip from a peer',
  'GET /p2p/hello': 'The peer handshake: this node\'s identity, signed over the asker\'s nonce',
  'GET /p2p/peers': 'Known peers',
  'POST /p2p/peers': 'Add a peer',
  'DELETE /p2p/peers': 'Remove a peer',
  'GET /p2p/evidence': 'Equivocation evidence for peers',
  'GET /sync/status': 'This node\'s height range and its own sync in progress',
  'GET /sync/blocks': 'Blocks with their certificates, for catching up',
  'GET /sync/headers': 'Headers with their certificates',
  'GET /sync/epochs/:epoch': 'One epoch\'s validator set with its proof',
  'GET /sync/snapshots': 'State snapshots this node serves',
  'GET /sync/snapshots/:height': 'One snapshot\'s manifest',
  'GET /sync/snapshots/:height/chunks/:index': 'One chunk of a snapshot',
  'GET /sync/snapshot': 'The latest state snapshot',
};

/** Which audience a route is for, from its path and method. */
export function routeTag(method: string, url: string): Tag {
  if (url.startsWith('/admin/') || ADMIN_ELSEWHERE.has(`${method} ${url}`)) return 'admin';
  if (url.startsWith('/p2p/') || url.startsWith('/sync/')) return 'validator-network';
  if (url.startsWith('/dev/')) return 'dev';
  return 'public';
}

/** One route of the index. */
export interface RouteEntry {
  readonly method: string;
  readonly path: string;
  readonly tag: Tag;
  readonly summary?: string;
}

/** The routes collected so far (complete once the server is ready). */
export interface RouteCatalog {
  readonly routes: readonly RouteEntry[];
}

interface DocumentedSchema {
  hide?: boolean;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
}

/**
 * Adds the hook that documents and collects every route registered after it
 * (HEAD routes that Fastify adds for each GET, and hidden routes such as the
 * CORS preflight catch-all, are left out of the index). Call it before
 * registering the OpenAPI generator, so that the generator sees the tags.
 */
export function collectRoutes(app: FastifyInstance): RouteCatalog {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const own = (route.schema ?? {}) as DocumentedSchema;
    if (own.hide === true) return;
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      const tag = routeTag(method, route.url);
      const summary = own.summary ?? ROUTE_SUMMARIES[`${method} ${route.url}`];
      const documented: DocumentedSchema = { ...own, tags: own.tags ?? [tag] };
      if (summary !== undefined) documented.summary = summary;
      if (tag === 'admin' && own.security === undefined) documented.security = [{ [ADMIN_SECURITY]: [] }];
      route.schema = documented as NonNullable<RouteOptions['schema']>;
      routes.push({ method, path: route.url, tag, ...(summary === undefined ? {} : { summary }) });
    }
  });
  return { routes };
}
