/**
 * Deterministic network simulation of fastpos: N nodes running the node's
 * real parts (or a stand-in application of empty blocks) on a virtual clock
 * and a simulated network, faults from a seed, safety and liveness checkers.
 * See simulation.ts.
 * @module
 */
export { Rng } from './rng.js';
export { VirtualClock } from './clock.js';
export { SimApp, SimChain, CertCache, genesisHash } from './app.js';
export { EquivocatingTransport, FloodingTransport, ForgingTransport, WithholdingTransport } from './byzantine.js';
export { SimFullNode } from './fullNode.js';
export { TxLoad } from './txLoad.js';
export { RecklessGuard, SimGuard, SimTransport } from './parts.js';
export { SafetyChecker } from './checker.js';
export {
  BYZANTINE_KINDS,
  deriveConfig,
  describeConfig,
  faultsOverAt,
  NO_FAULTS,
  partitionBlocks,
  SIM_CHAIN_ID,
  simConfig,
  type ByzantineKind,
  type CrashPlan,
  type Partition,
  type PartitionKind,
  type Scenario,
  type SignCrashMode,
  type SignCrashPlan,
  type SimAppKind,
  type SimConfig,
  type SimulationOptions,
  type WriteFault,
} from './scenario.js';
export { Simulation, runSimulation, simGenesis, SIM_GENESIS_TIME, type ChainView, type Decision, type EvidenceRecord, type SignatureRecord, type SimNode, type SimResult, type SimStats } from './simulation.js';
