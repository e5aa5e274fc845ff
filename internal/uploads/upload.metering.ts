/**
 * Records the upload byte paths in the process's metrics (platform/metrics.ts UploadMeter): each
 * stored part with its backend, outcome and the bytes received for it, and each upload's end. The
 * outcome comes from the error's code once (platform/metrics-outcome.ts faultOf). Without a meter
 * (tests, tools) the write just runs.
 */
import type { UploadMeter } from '../platform/metrics.ts';
import { faultOf } from '../platform/metrics-outcome.ts';
import type { StorageRouter } from '../storage/index.ts';

/** What a part's write learns as it goes: its backend (once the slot is known) and the bytes it received. */
export interface PartTally {
  backend: string;
  bytes: number;
}

/** Before the backend is known (a refusal ahead of the slot), the part counts under this backend. */
export const UNKNOWN_BACKEND = 'unknown';

export function newTally(): PartTally {
  return { backend: UNKNOWN_BACKEND, bytes: 0 };
}

/** Runs one part's write and counts it under what `tally` holds when it ends. */
export async function meteredPart<T>(meter: UploadMeter | undefined, tally: PartTally, run: () => Promise<T>): Promise<T> {
  if (!meter) return run();
  try {
    const result = await run();
    meter.part(tally.backend, 'ok', tally.bytes);
    return result;
  } catch (error) {
    meter.part(tally.backend, faultOf(error), tally.bytes);
    throw error;
  }
}

/** Runs what ends an upload (completeUpload, a one-request upload's commit) and counts its outcome. */
export async function meteredCompletion<T>(meter: UploadMeter | undefined, run: () => Promise<T>): Promise<T> {
  if (!meter) return run();
  try {
    const result = await run();
    meter.completion('ok');
    return result;
  } catch (error) {
    meter.completion(faultOf(error));
    throw error;
  }
}

/** A one-request body always goes to the default backend: it counts there, also when refused before a byte is stored. */
export function defaultTally(storage: Pick<StorageRouter, 'defaultBackend'>): PartTally {
  try {
    return { backend: storage.defaultBackend().name, bytes: 0 };
  } catch {
    return newTally();
  }
}
