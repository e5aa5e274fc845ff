/** The transport of thumbnail jobs: takes them off their queue, one at a time, and hands them to the service. */
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Consumer, DeadLetter, JobQueue, QueueMessage } from '../platform/mq/queue.ts';
import { ThumbnailJob, type ThumbnailsService } from './thumbnails.service.ts';

export class ThumbnailsWorker {
  private consumer: Consumer | undefined;

  constructor(private readonly queue: JobQueue, private readonly service: ThumbnailsService, private readonly log: Logger) {}

  /** Prefetch 1: one image decoded at a time per process (CPU and memory bounded). */
  async start(): Promise<void> {
    this.consumer = await this.queue.consume((message) => this.handle(message), {
      prefetch: 1,
      isPermanent: (error) => AppError.is(error, 'BAD_INPUT'),
      // An image that kills its worker every time: no run recorded anything, so it is marked here.
      onDeadLetter: async (dead: DeadLetter) => {
        const parsed = ThumbnailJob.safeParse(dead.body);
        if (parsed.success) await this.service.deadLettered(parsed.data);
      },
    });
    this.log.info({ queue: this.queue.kind }, 'thumbnail worker consuming');
  }

  async stop(graceMs = 30_000): Promise<void> {
    await this.consumer?.stop({ graceMs });
    this.consumer = undefined;
  }

  private async handle(message: QueueMessage): Promise<void> {
    const parsed = ThumbnailJob.safeParse(message.body);
    if (!parsed.success) throw new AppError('BAD_INPUT', 'Not a thumbnail job');
    await this.service.run(parsed.data);
  }
}
