/**
 * A background job run every `intervalMs` (sweeps, retention): its timer never keeps the process
 * alive, and a failed run is handed to `onError` so the next one tries again.
 */
export interface Periodic {
  stop(): void;
}

export function every(intervalMs: number, run: () => Promise<unknown>, onError: (error: unknown) => void): Periodic {
  const timer = setInterval(() => {
    run().catch(onError);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
