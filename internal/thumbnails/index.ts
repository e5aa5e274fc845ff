/**
 * Builds the thumbnails feature inside the files service (which records the blobs it is about):
 * its own job queue (RabbitMQ `stratus.thumbnails` with AMQP_URL, else in process, with the
 * transfer queue's retry rules), the worker (one job at a time), the sweeper and the router.
 */
import type { FilesService } from '../files/files.service.ts';
import { MemoryJobQueue } from '../platform/mq/memory.queue.ts';
import type { JobQueue } from '../platform/mq/queue.ts';
import { RabbitJobQueue } from '../platform/mq/rabbitmq.queue.ts';
import type { Runtime } from '../platform/runtime.ts';
import { ThumbnailLinks } from './thumbnail-links.ts';
import { ThumbnailsRepository } from './thumbnails.repository.ts';
import { thumbnailsRouter } from './thumbnails.router.ts';
import { THUMBNAIL_LIMITS, type ThumbnailLimits } from './thumbnails.rules.ts';
import { ThumbnailsService } from './thumbnails.service.ts';
import { ThumbnailsWorker } from './thumbnails.worker.ts';

/**
 * The queue's RabbitMQ prefix: `stratus.thumbnails` beside the default `stratus.transfer`, else
 * `<TRANSFER_AMQP_PREFIX>.thumbnails`, so deployments (and test runs) that share a broker under
 * their own transfer prefix never take each other's thumbnail jobs.
 */
export function thumbnailQueuePrefix(transferPrefix: string): string {
  return transferPrefix === 'stratus.transfer' ? 'stratus.thumbnails' : `${transferPrefix}.thumbnails`;
}
/** How often content whose last blob went loses its thumbnails. */
const SWEEP_INTERVAL_MS = 60_000;

export interface ThumbnailsOptions {
  worker?: boolean;
  limits?: Partial<ThumbnailLimits>;
}

export function createThumbnails(runtime: Runtime, files: Pick<FilesService, 'content'>, options: ThumbnailsOptions = {}) {
  const settings = runtime.config.transfer;
  const queue: Promise<JobQueue> = runtime.config.amqpUrl
    ? RabbitJobQueue.connect({ url: runtime.config.amqpUrl, prefix: thumbnailQueuePrefix(settings.amqpPrefix), retryDelaysMs: settings.retryDelaysMs, maxDeliveries: settings.maxDeliveries, log: runtime.log })
    : Promise.resolve(new MemoryJobQueue({ retryDelaysMs: settings.retryDelaysMs, maxDeliveries: settings.maxDeliveries }));
  // Not awaited here (the files service is built synchronously); a failure shows in readiness and on publish.
  queue.catch((error: unknown) => runtime.log.error({ err: error }, 'thumbnail queue unavailable'));
  const repo = new ThumbnailsRepository(runtime.orm);
  const service = new ThumbnailsService(repo, runtime.storage, queue, files, new ThumbnailLinks(runtime.config.jwtSecret), { ...THUMBNAIL_LIMITS, ...options.limits }, runtime.log, runtime.kv);
  const worker = queue.then(async (q) => {
    const w = new ThumbnailsWorker(q, service, runtime.log);
    if (options.worker ?? true) await w.start();
    return w;
  });
  // Logged here; the process keeps serving (readiness reports the queue) rather than crash on it.
  worker.catch((error: unknown) => runtime.log.error({ err: error }, 'thumbnail worker not started'));
  const timer = setInterval(() => void service.sweep().catch((error: unknown) => runtime.log.warn({ err: error }, 'thumbnail sweep failed')), SWEEP_INTERVAL_MS);
  timer.unref();
  runtime.onClose(async () => {
    clearInterval(timer);
    await (await worker.catch(() => undefined))?.stop();
    await (await queue.catch(() => undefined))?.close();
  });
  runtime.readiness.set('thumbnail-queue', async () => void (await (await queue).depth()));
  return { service, queue, router: thumbnailsRouter(service) };
}

export type { ThumbnailsRouter } from './thumbnails.router.ts';
export { THUMBNAIL_SIZES, type ThumbnailSize } from './thumbnails.rules.ts';
