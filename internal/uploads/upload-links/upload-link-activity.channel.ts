/**
 * Arrivals through upload links, live over pub/sub (Redis in production), so the owner's
 * subscription on one gateway sees files that arrived through any replica. One channel per owner
 * (`upload-link-activity:<ownerId>`); a subscription to one link filters it.
 */
import type { PubSub } from '../../platform/kv/kv.ts';

export interface UploadLinkArrivalDto {
  linkId: string;
  fileId: string;
  name: string;
  size: number;
  receivedAt: string;
}

const channel = (ownerId: string) => `upload-link-activity:${ownerId}`;

export function publishArrival(pubsub: PubSub, ownerId: string, arrival: UploadLinkArrivalDto): Promise<void> {
  return pubsub.publish(channel(ownerId), JSON.stringify(arrival));
}

/** The owner's arrivals (through `linkId`, or any of their links when null) as they happen; never ends by itself. */
export async function* uploadLinkArrivals(pubsub: PubSub, ownerId: string, linkId: string | null): AsyncGenerator<UploadLinkArrivalDto> {
  const queue: UploadLinkArrivalDto[] = [];
  let wake: (() => void) | undefined;
  const off = await pubsub.subscribe(channel(ownerId), (message) => {
    const arrival = JSON.parse(message) as UploadLinkArrivalDto;
    if (linkId !== null && arrival.linkId !== linkId) return;
    queue.push(arrival);
    wake?.();
  });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    await off();
  }
}
