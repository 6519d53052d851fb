/**
 * The help texts of the `fastpos` commands: the global usage and one text per
 * command (what it does, its flags, examples), shown by `fastpos <cmd> --help`,
 * `fastpos <cmd> -h` and `fastpos help <cmd>`.
 * @module
 */

export const QUERY_FLAGS = `  --node URL     the node's API (default: FASTPOS_NODE, else http://127.0.0.1:26657)
  --json         print the node's JSON answer instead of the readable text
  --verbose      show the stack trace of an error`;

export const GLOBAL_USAGE = `fastpos — a simplified, auditable proof-of-stake node

Usage: fastpos <command> [flags]      (fastpos <command> --help for its flags and examples)

Node:
  start                 run a node (the local devnet by default)
  init                  write config, genesis and keys for a new chain into a data dir
  keys generate|show    make or read a key file
  testnet init|start|stop|restart|status
                        a local testnet of several validators

Query a running node (--node URL or FASTPOS_NODE; --json for scripts):
  status                the node's chain, height, peers and sync state
  account ADDR          balance and nonces of an account
  block [H|latest]      a finalized block with its txs and signers
  tx-status TXID        a tx's status: pending, finalized (block, result) or dropped
  validators            the validators with power, stake, work weight and status
  delegations ADDR      a delegator's delegations and pending unbondings
  evidence              double-sign evidence the node holds (admin token)

Transactions:
  tx <kind>             sign and submit a tx of any kind (--dry-run, --wait)

Data:
  verify-chain          replay every stored block from genesis
  backup create|list|verify|restore
  migrate-state         copy a stopped data dir's chain into the other backend

  help [command]        this text, or a command's
  --version             the version

Errors are one line; --verbose (or FASTPOS_VERBOSE=1) adds the stack trace.
Every config key is a flag of start (--kebab-case) and an environment variable
(FASTPOS_UPPER_SNAKE); see docs/configuration.md. The CLI: docs/cli.md.`;

export const START_HELP = `Usage: fastpos start [--data-dir DIR] [--config FILE] [--port P] [--init] [--<config key> V ...]

Runs a node. Without a genesis file it runs the local devnet (chain fastpos-devnet,
one validator, ten funded dev accounts) in ./.fastpos and prints the API URL, the
explorer URL and the dev accounts. Every config key is a flag (--kebab-case) and an
environment variable (FASTPOS_UPPER_SNAKE); all of them are in docs/configuration.md.
A --data-dir that does not exist or holds no chain is refused (a typo would start a
fresh chain there) unless it is the default ./.fastpos, --init is given, or
--genesis-file names the chain to join.

Flags (the common ones):
  --data-dir DIR          chain store, keys, genesis, config.yaml (default ./.fastpos)
  --config FILE           config file (default DIR/config.yaml if present)
  --init                  allow a new chain in a data dir that does not hold one yet
  --genesis-file FILE     the chain's genesis (default DIR/genesis.json, else the devnet)
  --host H --port P       where the API listens (default 127.0.0.1:26657)
  --peers URL,...         other nodes of the network
  --validator-key-file F  this validator's key (default DIR/validator_key.json)
  --state-backend B       sqlite (default) or snapshot
  --log-level L           trace|debug|info|warn|error
  --admin-token T         enables the /admin routes (at least 16 characters)

Examples:
  fastpos start
  fastpos start --data-dir ./mychain --init --port 26660
  fastpos start --peers http://10.0.0.2:26657 --genesis-file genesis.json --data-dir ./node2`;

export const INIT_HELP = `Usage: fastpos init [--data-dir DIR] [--chain-id ID] [--dev-accounts N] [--treasury-balance N] [--force]

Writes config.yaml, genesis.json, a validator key and a funded account key into a
data dir, for a new single-validator chain. A chain id with "devnet" or "localnet"
in it also funds the public dev accounts (10 by default). Prints what it wrote as JSON.

Flags:
  --data-dir DIR          where to write (default ./.fastpos)
  --chain-id ID           1-64 of [a-zA-Z0-9._-] (default fastpos-devnet)
  --dev-accounts N        dev accounts to fund (devnet chain ids only)
  --treasury-balance N    fund the protocol treasury
  --force                 overwrite existing files

Examples:
  fastpos init --data-dir ./mychain --chain-id acme-devnet
  fastpos start --data-dir ./mychain`;

export const KEYS_HELP = `Usage: fastpos keys generate [--out FILE]
       fastpos keys show --file FILE

Makes a new Ed25519 key (printed, or saved to a key file readable only by you) or
shows the public key and address of a key file.

Examples:
  fastpos keys generate --out ./me.json
  fastpos keys show --file ./me.json`;

export const KEYS_GENERATE_HELP = `Usage: fastpos keys generate [--out FILE]

Makes a new Ed25519 key. Without --out it prints the private key, public key and
address as JSON; with --out it saves a key file (mode 0600) and prints its address.

Flags:
  --out FILE     the key file to write

Examples:
  fastpos keys generate
  fastpos keys generate --out ./me.json`;

export const KEYS_SHOW_HELP = `Usage: fastpos keys show --file FILE

Prints the public key and address of a key file (never its private key).

Flags:
  --file FILE    the key file

Example:
  fastpos keys show --file ./.fastpos/account_key.json`;

const query = (usage: string, text: string, flags: string, examples: string): string =>
  `Usage: ${usage}\n\n${text}\n\nFlags:\n${flags === '' ? '' : flags + '\n'}${QUERY_FLAGS}\n\nExamples:\n${examples}`;

export const STATUS_HELP = query(
  'fastpos status [--node URL] [--json]',
  `Shows what the node says of itself: chain id, genesis hash, latest finalized height
and hash, epoch, peers, whether it syncs or produces blocks, its mempool.`,
  '',
  '  fastpos status\n  fastpos status --node http://10.0.0.2:26657 --json',
);

export const ACCOUNT_HELP = query(
  'fastpos account ADDR [--node URL] [--json]',
  `Shows an account's balance, nonce (txs finalized) and pending nonce (the nonce of
its next tx, counting its txs in the mempool). ADDR is 40 hex digits, with or
without 0x, in any case.`,
  '',
  '  fastpos account 86f3d3fb6edabe4e6474559b3c4e952b236bb345\n  fastpos account 0x86F3D3FB6EDABE4E6474559B3C4E952B236BB345 --json',
);

export const BLOCK_HELP = query(
  'fastpos block [HEIGHT|latest] [--node URL] [--json]',
  `Shows a finalized block: height, hash, time, proposer, its txs with their results,
and the validators whose signatures certify it. Without a height: the latest.`,
  '',
  '  fastpos block\n  fastpos block 42 --json',
);

export const TX_STATUS_HELP = query(
  'fastpos tx-status TXID [--node URL] [--json]      (also: fastpos tx show TXID)',
  `Shows a tx's status: pending (in the mempool), finalized (its height, index, block
and result) or dropped (and why). TXID is 64 hex digits, with or without 0x.`,
  '',
  '  fastpos tx-status 3fa2…(64 hex digits)\n  fastpos tx show 0x3FA2… --json',
);

export const VALIDATORS_HELP = query(
  'fastpos validators [--node URL] [--json]',
  `Lists the validators: id, voting power, self stake, delegated stake, work weight,
status (active, jailed, unbonding) and whether they are in the current set.`,
  '',
  '  fastpos validators\n  fastpos validators --json',
);

export const DELEGATIONS_HELP = query(
  'fastpos delegations ADDR [--node URL] [--json]',
  `Lists what ADDR has delegated, to which validator, and its undelegations (and
self-unbonds) still waiting to be paid out.`,
  '',
  '  fastpos delegations 86f3d3fb6edabe4e6474559b3c4e952b236bb345\n  fastpos delegations 0x86f3d3fb6edabe4e6474559b3c4e952b236bb345 --json',
);

export const EVIDENCE_HELP = query(
  'fastpos evidence --admin-token T [--limit N] [--node URL] [--json]',
  `Lists the double-sign evidence the node holds: what it has seen and what it will
put in its next block. An admin route: the node's admin token is needed
(--admin-token or FASTPOS_ADMIN_TOKEN).`,
  '  --admin-token T  the node\'s admin token (default FASTPOS_ADMIN_TOKEN)\n  --limit N        newest N of each list (default 100)',
  '  fastpos evidence --admin-token "$TOKEN"\n  FASTPOS_ADMIN_TOKEN=... fastpos evidence --json',
);

export const VERIFY_CHAIN_HELP = `Usage: fastpos verify-chain [--config FILE] [--data-dir DIR] [--state-backend sqlite|snapshot] [--json]

Replays every stored block of a stopped node (or a backup) from genesis, checking
each block's certificate and that the state root it reaches is the stored one.
Prints a JSON report; exits 1 when something does not verify.

Examples:
  fastpos verify-chain --data-dir ./.fastpos
  fastpos verify-chain --data-dir ./node1 --state-backend snapshot --json`;

export const MIGRATE_HELP = `Usage: fastpos migrate-state --data-dir DIR --from sqlite|snapshot --to snapshot|sqlite [--config FILE] [--json]

Copies a stopped data dir's chain into the other state backend, checks both give
the same state root, moves the old files aside and tells what to set in the config.

Flags:
  --data-dir DIR   the (stopped) node's data dir
  --from B --to B  the backends, sqlite or snapshot
  --json           print a JSON report

Example:
  fastpos migrate-state --data-dir ./.fastpos --from sqlite --to snapshot`;

export const BACKUP_HELP: Record<string, string> = {
  '': `Usage: fastpos backup create|list|verify|restore [flags]   (fastpos backup <sub> --help)

Backups of a node's chain store: create one (from a running node or a stopped data
dir), list them, verify one, restore one into a stopped data dir.

Examples:
  fastpos backup create --data-dir ./.fastpos
  fastpos backup list --data-dir ./.fastpos`,
  create: `Usage: fastpos backup create [--node URL [--admin-token T]] [--data-dir DIR] [--backup-dir DIR] [--json]

Writes a backup of the chain store. With --node a running node writes it (admin
token needed); without, a stopped data dir is copied offline, holding its lock.

Examples:
  fastpos backup create --data-dir ./.fastpos
  fastpos backup create --node http://127.0.0.1:26657 --admin-token "$TOKEN"`,
  list: `Usage: fastpos backup list [--backup-dir DIR | --data-dir DIR] [--json]

Lists the backups in a backup dir (default DIR/backups of the data dir).

Example:
  fastpos backup list --data-dir ./.fastpos`,
  verify: `Usage: fastpos backup verify BACKUP_DIR [--full] [--json]

Checks every file of a backup against its manifest, opens the store copy, recomputes
its state root and checks its latest certificate; --full also replays every block.

Example:
  fastpos backup verify ./.fastpos/backups/000120 --full`,
  restore: `Usage: fastpos backup restore BACKUP_DIR --data-dir DIR [--force-older-than-guard] [--json]

Installs a backup's chain store into a stopped data dir; the old chain files are
moved aside, never deleted.

Example:
  fastpos backup restore ./backups/000120 --data-dir ./.fastpos`,
};

