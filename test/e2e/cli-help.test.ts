/**
 * `fastpos <cmd> --help` and `-h` for every command, `fastpos help [cmd]`,
 * usage errors (one line, then the command's own usage) and did-you-mean for
 * commands, tx kinds and flags. Real child processes of the built CLI.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/proc.js';

/** A command line, and what its help's usage line names. */
const COMMANDS: readonly (readonly [string[], RegExp])[] = [
  [['start'], /^Usage: fastpos start /m],
  [['init'], /^Usage: fastpos init /m],
  [['keys'], /^Usage: fastpos keys generate/m],
  [['keys', 'generate'], /^Usage: fastpos keys generate/m],
  [['keys', 'show'], /^Usage: fastpos keys show/m],
  [['tx'], /^Usage: fastpos tx <kind>/m],
  [['tx', 'transfer'], /^Usage: fastpos tx transfer --to ADDR --amount N/m],
  [['tx', 'validator_bond'], /^Usage: fastpos tx validator_bond --pub-key HEX64/m],
  [['tx', 'delegation-delegate'], /^Usage: fastpos tx delegation_delegate --validator-id ADDR/m],
  [['tx', 'validator_unjail'], /^Usage: fastpos tx validator_unjail --validator-id ADDR/m],
  [['tx', 'show'], /^Usage: fastpos tx-status TXID/m],
  [['status'], /^Usage: fastpos status/m],
  [['account'], /^Usage: fastpos account ADDR/m],
  [['block'], /^Usage: fastpos block /m],
  [['tx-status'], /^Usage: fastpos tx-status TXID/m],
  [['tx-lookup'], /^Usage: fastpos tx-status TXID/m],
  [['validators'], /^Usage: fastpos validators/m],
  [['delegations'], /^Usage: fastpos delegations ADDR/m],
  [['evidence'], /^Usage: fastpos evidence /m],
  [['verify-chain'], /^Usage: fastpos verify-chain/m],
  [['backup'], /^Usage: fastpos backup create\|list/m],
  [['backup', 'create'], /^Usage: fastpos backup create /m],
  [['backup', 'list'], /^Usage: fastpos backup list/m],
  [['backup', 'verify'], /^Usage: fastpos backup verify/m],
  [['backup', 'restore'], /^Usage: fastpos backup restore/m],
  [['migrate-state'], /^Usage: fastpos migrate-state/m],
];

const NO_STACK = /^\s+at /m;

describe('CLI help (child processes)', () => {
  for (const [cmd, usage] of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      it(`default: fastpos ${cmd.join(' ')} ${flag} prints its own help and exits 0`, () => {
        const r = runCli([...cmd, flag]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, usage);
        assert.match(r.stdout, /^Examples?:$/m, 'the help has examples');
        assert.doesNotMatch(r.stdout, /^Query a running node/m, 'not the global usage');
        assert.equal(r.stderr, '');
      });
    }
  }

  it('default: fastpos --help, -h, help and no command print the global usage; help CMD prints the command\'s', () => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const r = runCli(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Usage: fastpos <command>/m);
      for (const c of ['start', 'status', 'account ADDR', 'block', 'tx-status TXID', 'validators', 'delegations ADDR', 'evidence', 'tx <kind>']) {
        assert.ok(r.stdout.includes(`  ${c}`), `the global usage lists ${c}`);
      }
    }
    const r = runCli(['help', 'account']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: fastpos account ADDR/m);
    const b = runCli(['help', 'backup', 'restore']);
    assert.match(b.stdout, /^Usage: fastpos backup restore/m);
  });

  it('error: an unknown command, tx kind or flag is one line with a did-you-mean, then the command\'s usage; exit 2', () => {
    let r = runCli(['stauts']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.split('\n')[0]!, /^fastpos: unknown command "stauts" \(did you mean status\?\)$/);
    r = runCli(['tx', 'tranfser', '--dev-account', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.split('\n')[0]!, /unknown tx kind "tranfser" \(did you mean transfer\?\)/);
    r = runCli(['tx', 'transfer', '--dev-account', '0', '--too', '86f3d3fb6edabe4e6474559b3c4e952b236bb345', '--amount', '1']);
    assert.equal(r.status, 2);
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], 'fastpos: unknown flag --too (did you mean --to?)');
    assert.equal(lines[1], '');
    assert.match(lines[2]!, /^Usage: fastpos tx transfer /, 'the usage of tx transfer, not the global one');
    assert.doesNotMatch(r.stderr, /Query a running node/);
    r = runCli(['account', '--nod', 'http://127.0.0.1:1', '86f3d3fb6edabe4e6474559b3c4e952b236bb345']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.split('\n')[0]!, /unknown flag --nod \(did you mean --node\?\)/);
    assert.match(r.stderr, /^Usage: fastpos account ADDR/m);
    r = runCli(['init', '--chain-idd', 'x']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.split('\n')[0]!, /did you mean --chain-id\?/);
    r = runCli(['start', '--prot', '5']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--prot: unknown flag \(did you mean "--port"\?\)/);
    for (const x of [r]) assert.doesNotMatch(x.stderr, NO_STACK);
  });

  it('error: a malformed address is named with what it should be', () => {
    const r = runCli(['account', 'xyz']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.split('\n')[0]!, /ADDR must be an address: 40 hex digits, with or without 0x, got "xyz"/);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });
});
