/**
 * Live upload progress over pub/sub (Redis in production), so a subscriber connected to one
 * gateway sees chunks received by any other. Channel `upload-progress:<sessionId>`.
 */
import type { PubSub } from '../platform/kv/kv.ts';
import { FINISHED, type UploadStatus } from './session-status.machine.ts';

export interface UploadProgress {
  sessionId: string;
  status: UploadStatus;
  uploadedBytes: number;
  size: number;
  uploadedChunkCount: number;
  chunkCount: number;
}

const channel = (sessionId: string) => `upload-progress:${sessionId}`;

export function publishProgress(pubsub: PubSub, event: UploadProgress): Promise<void> {
  return pubsub.publish(channel(event.sessionId), JSON.stringify(event));
}

/**
 * The session's events as an async iterator, ending after a final status. `initial` (the current
 * state, read after subscribing so nothing falls between) is yielded first.
 */
export async function* progressEvents(
  pubsub: PubSub,
  sessionId: string,
  initial: () => Promise<UploadProgress>,
): AsyncGenerator<UploadProgress> {
  const queue: UploadProgress[] = [];
  let wake: (() => void) | undefined;
  const off = await pubsub.subscribe(channel(sessionId), (message) => {
    queue.push(JSON.parse(message) as UploadProgress);
    wake?.();
  });
  try {
    const first = await initial();
    yield first;
    if (FINISHED.includes(first.status)) return;
    for (;;) {
      const event = queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      yield event;
      if (FINISHED.includes(event.status)) return;
    }
  } finally {
    await off();
  }
}
