/** The transport of the worker: takes job messages off the queue and hands them to the service. */
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Consumer, JobQueue, QueueMessage } from '../platform/mq/queue.ts';
import { TransferJobMessage, type TransferService } from './transfer.service.ts';

export class TransferWorker {
  private consumer: Consumer | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly service: TransferService,
    private readonly log: Logger,
  ) {}

  /** `prefetch` jobs at once per process (each holds about 32 MiB of part buffers). */
  async start(prefetch: number): Promise<void> {
    this.consumer = await this.queue.consume((message) => this.handle(message), {
      prefetch,
      // A message that is not a job, or a job no retry can fix.
      isPermanent: (error) => AppError.is(error, 'BAD_INPUT'),
    });
    this.log.info({ queue: this.queue.kind, prefetch }, 'transfer worker consuming');
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  private async handle(message: QueueMessage): Promise<void> {
    const parsed = TransferJobMessage.safeParse(message.body);
    if (!parsed.success) throw new AppError('BAD_INPUT', `Not a transfer job: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    await this.service.run(parsed.data, message);
  }
}
