/** The transport of the worker: takes job messages off the queue and hands them to the service. */
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Consumer, DeadLetter, JobQueue, QueueMessage } from '../platform/mq/queue.ts';
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
      // A job that never finished (it crashed or got its worker killed every time): no run of it
      // recorded the failure, so the row is marked here.
      onDeadLetter: (dead) => this.deadLettered(dead),
    });
    this.log.info({ queue: this.queue.kind, prefetch }, 'transfer worker consuming');
  }

  /**
   * Stops taking jobs and waits for those running, at most `graceMs` (default 45 s, inside the
   * chart's 60 s termination grace): a job still running then goes back to the queue, counted as
   * an unfinished delivery, as it would if the pod were killed.
   */
  async stop(graceMs = 45_000): Promise<void> {
    await this.consumer?.stop({ graceMs });
    this.consumer = undefined;
  }

  private async deadLettered(dead: DeadLetter): Promise<void> {
    const parsed = TransferJobMessage.safeParse(dead.body);
    if (!parsed.success) return void this.log.warn({ messageId: dead.id, reason: dead.reason }, 'dead-lettered message is not a transfer job');
    await this.service.deadLettered(parsed.data, dead);
  }

  private async handle(message: QueueMessage): Promise<void> {
    const parsed = TransferJobMessage.safeParse(message.body);
    if (!parsed.success) throw new AppError('BAD_INPUT', `Not a transfer job: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    await this.service.run(parsed.data, message);
  }
}
