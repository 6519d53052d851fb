/**
 * Typed client for integrators: build and sign txs locally, submit them, and
 * read the chain over the HTTP API. Works in any Node.js 20+ program.
 * @module
 */
export * from './client.js';
export * from './sign.js';
export * from './keygen.js';
