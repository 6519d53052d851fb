/**
 * The product layer's rules (pure, deterministic), one file per part:
 * attestations and the oracle set (`product/attestations.ts`), rewards at
 * epoch transitions (`product/rewards.ts`), challenges (`product/challenges.ts`)
 * and settlements (`product/settlements.ts`), over what they share
 * (`product/common.ts`). docs/product.md describes every rule.
 * @module
 */
export * from './product/common.js';
export * from './product/attestations.js';
export * from './product/rewards.js';
export * from './product/challenges.js';
export * from './product/settlements.js';
