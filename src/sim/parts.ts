/**
 * The parts a simulated node plugs into its driver, written so that they
 * follow the driver's interfaces by inheritance: the guard is a
 * `SignGuardRules` (whatever durability methods it has come with it), the
 * transport a class (a transport method the driver may ask for, such as
 * `hasPeers`, is just another method).
 * @module
 */
import type { Envelope } from '../codec/envelope.js';
import type { SignGuard, Transport } from '../consensus/driver.js';
import type { LockState } from '../consensus/engine.js';
import { EMPTY_GUARD_STATE, SignGuardRules, type GuardState } from '../consensus/signGuard.js';

type SignParams = Parameters<SignGuard['sign']>[0];
type SignAnswer = ReturnType<SignGuard['sign']>;

/**
 * The real guard rules, dead with its node incarnation: once the node has
 * crashed it signs nothing and records nothing (a dead process does not
 * write). `onSigned` sees every signature it hands out.
 */
export class SimGuard extends SignGuardRules {
  constructor(
    initial: GuardState,
    persist: (s: GuardState) => void,
    private readonly alive: () => boolean,
    private readonly onSigned: (p: SignParams, signature: string) => void,
  ) {
    super(initial, persist);
  }

  override sign(p: SignParams): SignAnswer {
    if (!this.alive()) return null;
    const r = super.sign(p);
    if (r !== null) this.onSigned(p, r.signature);
    return r;
  }

  override recordLock(height: number, lock: LockState): ReturnType<SignGuard['recordLock']> {
    if (!this.alive()) return undefined as ReturnType<SignGuard['recordLock']>;
    return super.recordLock(height, lock);
  }
}

/** A guard that signs anything (the Byzantine validator's): each answer comes from a blank guard. */
export class RecklessGuard extends SignGuardRules {
  constructor() {
    super(EMPTY_GUARD_STATE, () => undefined);
  }
  override sign(p: SignParams): SignAnswer {
    return new SignGuardRules(EMPTY_GUARD_STATE, () => undefined).sign(p);
  }
  override lockAt(_height: number): LockState | null {
    return null;
  }
}

/** A node's transport: `send` puts an envelope on the simulated network. */
export class SimTransport implements Transport {
  constructor(
    private readonly send: (e: Envelope) => void,
    private readonly peers: number,
  ) {}
  broadcast(e: Envelope): void {
    this.send(e);
  }
  hasPeers(): boolean {
    return this.peers > 0;
  }
}
