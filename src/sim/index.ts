/**
 * Deterministic network simulation of fastpos consensus: N drivers on a
 * virtual clock and a simulated network, faults from a seed, safety and
 * liveness checkers. See simulation.ts.
 * @module
 */
export { Rng } from './rng.js';
export { VirtualClock } from './clock.js';
export { SimApp, SimChain, CertCache, genesisHash } from './app.js';
export { EquivocatingTransport } from './byzantine.js';
export { RecklessGuard, SimGuard, SimTransport } from './parts.js';
export { SafetyChecker } from './checker.js';
export { deriveConfig, describeConfig, faultsOverAt, NO_FAULTS, SIM_CHAIN_ID, simConfig, type CrashPlan, type Partition, type Scenario, type SignCrashMode, type SignCrashPlan, type SimConfig, type SimulationOptions } from './scenario.js';
export { Simulation, runSimulation, SIM_GENESIS_TIME, type Decision, type EvidenceRecord, type SignatureRecord, type SimNode, type SimResult, type SimStats } from './simulation.js';
