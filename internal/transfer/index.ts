/**
 * Builds the transfer service (queue, repository, service, worker, drainer, admin router) from the
 * shared runtime. The queue is RabbitMQ when AMQP_URL is set, else in process with the same rules.
 */
import type { Runtime } from '../platform/runtime.ts';
import { MemoryJobQueue } from '../platform/mq/memory.queue.ts';
import type { JobQueue } from '../platform/mq/queue.ts';
import { RabbitJobQueue } from '../platform/mq/rabbitmq.queue.ts';
import { TransferDrainer } from './drainer.job.ts';
import { createTransferMetrics } from './transfer.metrics.ts';
import { TransferRepository } from './transfer.repository.ts';
import { transferRouter } from './transfer.router.ts';
import { TransferService } from './transfer.service.ts';
import { TransferWorker } from './transfer.worker.ts';

export interface TransferOptions {
  /** Consume jobs in this process (default: when TRANSFER_CONCURRENCY > 0). */
  worker?: boolean;
  /** Sweep draining and staging backends (default true; one sweeper per deployment is enough). */
  drainer?: boolean;
}

export async function createTransfer(runtime: Runtime, options: TransferOptions = {}) {
  const settings = runtime.config.transfer;
  const queue: JobQueue = runtime.config.amqpUrl
    ? await RabbitJobQueue.connect({
      url: runtime.config.amqpUrl, prefix: settings.amqpPrefix, retryDelaysMs: settings.retryDelaysMs, maxDeliveries: settings.maxDeliveries, log: runtime.log,
    })
    : new MemoryJobQueue({ retryDelaysMs: settings.retryDelaysMs, maxDeliveries: settings.maxDeliveries });
  runtime.onClose(() => queue.close());
  const repo = new TransferRepository(runtime.orm);
  const metrics = createTransferMetrics(runtime.metrics.registry, queue);
  const service = new TransferService(repo, runtime.storage, queue, runtime.pubsub, metrics, settings, runtime.log);
  const worker = new TransferWorker(queue, service, runtime.log);
  const drainer = new TransferDrainer(runtime.storage, repo, service, runtime.log);
  // Registered before starting, so closing stops the worker before the queue and database go.
  runtime.onClose(() => worker.stop());
  runtime.onClose(() => drainer.stop());
  if (options.worker ?? settings.concurrency > 0) await worker.start(Math.max(1, settings.concurrency));
  if (options.drainer ?? true) drainer.start();
  runtime.readiness.set('queue', async () => void (await queue.depth()));
  return { queue, service, worker, drainer, router: transferRouter(service) };
}

export type { TransferRouter } from './transfer.router.ts';
export type { TransferJobDto } from './transfer.service.ts';
export { transferEvents } from './transfer.events.ts';
