/**
 * `fastpos testnet`: a local multi-validator testnet you can drive.
 *
 * - `testnet init` (testnetInit.ts) writes a genesis with N fresh, funded validators and one
 *   folder per node, after checking every port the nodes will bind is free.
 * - `testnet start` (testnetSupervisor.ts) runs every node as a child process under a
 *   supervisor, which announces a control endpoint in DIR/supervisor.json.
 * - `testnet stop|restart|status` (testnetControl.ts) drive that supervisor, or, without
 *   one, the nodes' pid files.
 *
 * Bad flags are reported through the `usageError` the CLI passes in (exit 2);
 * `--help`/`-h` and runtime failures through the classes of args.ts.
 * @module
 */
import { HelpRequested, didYouMean, wantsHelp } from './args.js';
import { RESTART_USAGE, STATUS_USAGE, STOP_USAGE, testnetRestart, testnetStatus, testnetStop } from './testnetControl.js';
import { INIT_USAGE, testnetInit } from './testnetInit.js';
import { START_USAGE, testnetStart } from './testnetSupervisor.js';
import type { UsageErrorFactory } from './testnetShared.js';

export {
  TESTNET_DEFAULT_BASE_PORT,
  TESTNET_DEFAULT_CHAIN_ID,
  TESTNET_DEV_ACCOUNTS,
  TESTNET_MAX_VALIDATORS,
  amountFlag,
  type UsageErrorFactory,
} from './testnetShared.js';
export type { TestnetNodeSummary, TestnetSummary } from './testnetInit.js';

export const TESTNET_USAGE = `Usage: fastpos testnet <command> --dir DIR [flags]

A local testnet: several validator nodes on this machine, each its own process.

Commands:
  init      write a testnet of N validators to DIR (checks its ports are free)
  start     run every node of DIR under a supervisor (Ctrl-C stops them all)
  stop      stop the running testnet, or one node (--node N)
  restart   restart one node (--node N) or every node under the running supervisor
  status    each node's pid, state, height, peers and URL (--json for scripts)

Run "fastpos testnet <command> --help" for a command's flags.

Examples:
  fastpos testnet init --validators 4 --dir ./testnet
  fastpos testnet start --dir ./testnet
  fastpos testnet status --dir ./testnet
  fastpos testnet restart --dir ./testnet --node 1
  fastpos testnet stop --dir ./testnet`;

const SUBCOMMANDS = {
  init: { usage: INIT_USAGE, run: testnetInit },
  start: { usage: START_USAGE, run: testnetStart },
  stop: { usage: STOP_USAGE, run: testnetStop },
  restart: { usage: RESTART_USAGE, run: testnetRestart },
  status: { usage: STATUS_USAGE, run: testnetStatus },
} as const;
type Sub = keyof typeof SUBCOMMANDS;

/** Entry point of `fastpos testnet <init|start|stop|restart|status> ...`. */
export async function cmdTestnet(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const [sub, ...rest] = args;
  const names = Object.keys(SUBCOMMANDS) as Sub[];
  if (sub === undefined) throw usageError(`testnet needs a command: ${names.join(', ')} (fastpos testnet --help)`);
  if (sub === 'help' || (sub.startsWith('-') && wantsHelp([sub]))) throw new HelpRequested(TESTNET_USAGE);
  if (!Object.hasOwn(SUBCOMMANDS, sub)) {
    throw usageError(`unknown testnet command "${sub}"${didYouMean(sub, names)} (expected ${names.join(', ')})`);
  }
  return SUBCOMMANDS[sub as Sub].run(rest, usageError);
}
