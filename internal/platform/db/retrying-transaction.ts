/**
 * A transaction retried when the database chose it as a deadlock victim or its lock wait timed
 * out: concurrent commits, purges and version changes of one person meet on the quota and blob
 * rows, and InnoDB breaks such cycles by aborting one side ("Deadlock found when trying to get
 * lock; try restarting transaction"). Up to five attempts, with a short jittered pause.
 */
import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';

const ATTEMPTS = 5;

export async function retryingTransaction<T>(fork: () => EntityManager, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fork().transactional((em) => fn(em));
    } catch (error) {
      const retryable = error instanceof DeadlockException || error instanceof LockWaitTimeoutException;
      if (!retryable || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}
