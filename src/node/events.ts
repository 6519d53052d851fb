/**
 * A small typed event bus: each event name has one handler signature, checked
 * by the compiler (no string events with positional arguments of any type).
 * @module
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handlers<E> = { [K in keyof E]: (...args: any[]) => void };

export class TypedEvents<E extends Handlers<E>> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(name: K, fn: E[K]): this {
    let set = this.handlers.get(name);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(fn);
    return this;
  }

  off<K extends keyof E>(name: K, fn: E[K]): this {
    this.handlers.get(name)?.delete(fn);
    return this;
  }

  once<K extends keyof E>(name: K, fn: E[K]): this {
    const wrapped = ((...args: Parameters<E[K]>) => {
      this.off(name, wrapped);
      fn(...args);
    }) as E[K];
    return this.on(name, wrapped);
  }

  /** Calls every handler of `name` in the order they were added. */
  emit<K extends keyof E>(name: K, ...args: Parameters<E[K]>): void {
    const set = this.handlers.get(name);
    if (set === undefined) return;
    for (const fn of [...set]) fn(...args);
  }

  listenerCount(name: keyof E): number {
    return this.handlers.get(name)?.size ?? 0;
  }
}
