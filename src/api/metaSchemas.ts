/**
 * Response schemas of the routes that describe the node: the route index,
 * the OpenAPI document and the genesis document.
 */
import { AMOUNT, HEX40, HEX64 } from './schemas.js';

/** `GET /openapi.json`: an OpenAPI 3.1 document (its own schema is the OpenAPI specification's). */
export const openApiResponse = {
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: { openapi: { type: 'string' }, info: { type: 'object', additionalProperties: true }, paths: { type: 'object', additionalProperties: true } },
  additionalProperties: true,
} as const;

/** `GET /`: every route the node serves, and where to read more. */
export const routeIndexResponse = {
  type: 'object',
  required: ['name', 'version', 'chainId', 'links', 'routes'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    chainId: { type: 'string' },
    links: {
      type: 'object',
      required: ['openapi', 'explorer', 'docs'],
      properties: { openapi: { type: 'string' }, explorer: { type: 'string' }, docs: { type: 'string' } },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['method', 'path', 'tag'],
        properties: { method: { type: 'string' }, path: { type: 'string' }, tag: { type: 'string' }, summary: { type: 'string' } },
      },
    },
  },
} as const;

const amountText = { type: 'string', pattern: AMOUNT } as const;
const address = { type: 'string', pattern: HEX40 } as const;

/** `GET /genesis`: the genesis document in its wire form (docs/api.md, "GET /genesis"). */
export const genesisResponse = {
  type: 'object',
  required: ['chainId', 'genesisTime', 'treasury', 'params', 'accounts', 'validators'],
  properties: {
    chainId: { type: 'string' },
    genesisTime: { type: 'integer', description: 'Unix milliseconds' },
    treasury: address,
    params: {
      type: 'object',
      description: 'Chain parameters: amounts (minFee, minSelfBond) as decimal strings, the rest as numbers, strings and lists',
      required: ['minFee', 'minSelfBond', 'governance'],
      properties: { minFee: amountText, minSelfBond: amountText, governance: { type: 'array', items: address } },
      additionalProperties: true,
    },
    accounts: {
      type: 'array',
      items: { type: 'object', required: ['address', 'balance'], properties: { address, balance: amountText } },
    },
    validators: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pubKey', 'stake', 'workWeight'],
        properties: { pubKey: { type: 'string', pattern: HEX64 }, stake: amountText, workWeight: { type: 'integer' }, rewardAddress: address },
      },
    },
    product: {
      type: 'object',
      description: 'The product layer\'s oracles and parameters (only when the chain has them)',
      properties: {
        oracles: { type: 'array', items: { type: 'object', required: ['address', 'stake'], properties: { address, stake: amountText } } },
        params: { type: 'object', additionalProperties: true },
      },
    },
    upgrades: {
      type: 'array',
      description: 'Scheduled protocol upgrades (only when the chain has a schedule)',
      items: { type: 'object', required: ['name', 'height'], properties: { name: { type: 'string' }, height: { type: 'integer' } } },
    },
  },
} as const;
