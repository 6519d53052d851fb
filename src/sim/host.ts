/**
 * What a simulation run needs from the process it runs in, kept out of the
 * deterministic simulation: a way to let promises settle between two virtual
 * events (the parts it drives answer through promises), and a watch on
 * unhandled rejections (each one is a violation of the run).
 * @module
 */
export interface SimHost {
  /** Resolves once every promise that can settle now has settled. */
  drain(): Promise<void>;
  /** Calls `fn` for each unhandled rejection until the returned function is called. */
  watchRejections(fn: (err: unknown) => void): () => void;
}

/** The host of a Node.js process (the command line and the tests). */
export const nodeHost: SimHost = {
  drain: () => new Promise((resolve) => setImmediate(resolve)),
  watchRejections: (fn) => {
    process.on('unhandledRejection', fn);
    return () => process.off('unhandledRejection', fn);
  },
};
