/**
 * Node configuration. Every key is declared once in `CONFIG_KEYS` (type, default,
 * one-line description); the `NodeConfig` type, the defaults, the `--kebab-case`
 * flags, the `FASTPOS_UPPER_SNAKE` environment variables, validation, the YAML
 * written by `fastpos init` and the reference in docs/configuration.md are all
 * derived from that table. `loadConfig` merges flag > environment > config file
 * (YAML) > default per key and rejects unknown keys and ill-typed values with
 * `FastposError(INVALID_CONFIG)` naming the key and its source; its only I/O is
 * reading the config file through an injectable `readFile`.
 * @module
 */
export * from './config.js';
