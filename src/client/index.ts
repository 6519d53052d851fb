/**
 * Typed client for integrators: build and sign every tx kind locally, submit
 * with idempotent retries, wait for finality and verify the certificate of the
 * block a tx landed in against the validator sets the client tracks; read the
 * chain over the HTTP API. Works in any Node.js 20+ program.
 * @module
 */
export * from './client.js';
export * from './batch.js';
export * from './errors.js';
export * from './builders.js';
export * from './certificate.js';
export * from './retry.js';
export * from './sign.js';
export * from './keygen.js';
