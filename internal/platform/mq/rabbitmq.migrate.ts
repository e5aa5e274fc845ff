/**
 * Moves the jobs of the classic `<prefix>.jobs` queue, declared by versions before the delivery
 * limit, into the quorum queue `<prefix>.jobs.quorum`. A queue's type cannot change in place
 * (declaring an existing classic queue as `x-queue-type: quorum` fails with 406
 * PRECONDITION_FAILED), so the quorum queue has a new name and the old one is drained, on every
 * connect of every process, until it is gone:
 *
 * 1. It is unbound from the exchange, so new jobs reach the quorum queue only. A process of the
 *    old version still running binds it again when it reconnects; its jobs then arrive in both
 *    queues, which is harmless (jobs are idempotent) and ends when the last old process does.
 * 2. Its messages move in batches: taken unacked, republished to the quorum queue with publisher
 *    confirms, then acked. A crash in between leaves them in the old queue: moved twice at worst.
 * 3. Empty and without consumers, it is deleted (an old worker still consuming it keeps it for now).
 */
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import type { Logger } from '../logger.ts';
import { carriedHeaders, confirmed, ROUTING_KEY, type RabbitTopology } from './rabbitmq.topology.ts';

const BATCH = 200;

/** Returns how many jobs were moved. */
export async function drainLegacyQueue(model: ChannelModel, confirm: ConfirmChannel, n: RabbitTopology, log: Logger): Promise<number> {
  // Probing a queue that does not exist closes the channel (404): a channel of its own.
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    try {
      await ch.checkQueue(n.legacyQueue);
    } catch {
      return 0;
    }
    await ch.unbindQueue(n.legacyQueue, n.exchange, ROUTING_KEY);
    let moved = 0;
    for (;;) {
      const batch: GetMessage[] = [];
      while (batch.length < BATCH) {
        const msg = await ch.get(n.legacyQueue, { noAck: false });
        if (msg === false) break;
        batch.push(msg);
      }
      const last = batch.at(-1);
      if (!last) break;
      await Promise.all(batch.map((msg) => confirmed((cb) => confirm.sendToQueue(n.queue, msg.content, {
        persistent: true,
        contentType: msg.properties.contentType as string | undefined,
        messageId: msg.properties.messageId as string | undefined,
        headers: carriedHeaders(msg.properties.headers),
      }, cb))));
      ch.ack(last, true);
      moved += batch.length;
    }
    if (moved > 0) log.info({ from: n.legacyQueue, to: n.queue, moved }, 'moved the jobs of the classic queue into the quorum queue');
    // Refused (406, closing this channel) while an old-version worker still consumes it.
    await ch.deleteQueue(n.legacyQueue, { ifEmpty: true, ifUnused: true }).then(
      () => log.info({ queue: n.legacyQueue }, 'deleted the drained classic jobs queue'),
      () => log.info({ queue: n.legacyQueue }, 'classic jobs queue still in use; drained again at the next connect'),
    );
    return moved;
  } finally {
    await ch.close().catch(() => undefined);
  }
}
