/**
 * Transfer job status changes over pub/sub (Redis in production), so an admin subscribed on any
 * gateway sees what a worker in any process does. One channel for all jobs: `transfer-progress`.
 */
import type { PubSub } from '../platform/kv/kv.ts';
import type { TransferJobDto } from './transfer.service.ts';

const CHANNEL = 'transfer-progress';

export function publishTransferEvent(pubsub: PubSub, job: TransferJobDto): Promise<void> {
  return pubsub.publish(CHANNEL, JSON.stringify(job));
}

/** Every job event from now on, until the consumer stops iterating. */
export async function* transferEvents(pubsub: PubSub): AsyncGenerator<TransferJobDto> {
  const queue: TransferJobDto[] = [];
  let wake: (() => void) | undefined;
  const off = await pubsub.subscribe(CHANNEL, (message) => {
    queue.push(JSON.parse(message) as TransferJobDto);
    wake?.();
  });
  try {
    for (;;) {
      const event = queue.shift();
      if (event) {
        yield event;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    await off();
  }
}
