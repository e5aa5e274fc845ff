/**
 * A process that runs only the transfer worker (ROLE=transfer in the distributed deployment, and
 * the process the end-to-end tests SIGKILL mid-transfer): configuration from the environment,
 * then consume until SIGTERM. Prints `transfer worker ready` once it consumes.
 */
import { allEntities } from '../entities.ts';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createRuntime } from '../platform/runtime.ts';
import { createTransfer } from './index.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel });
  const runtime = await createRuntime(config, allEntities, log);
  await createTransfer(runtime, { worker: true, drainer: false });
  log.info('transfer worker ready');
  const stop = (signal: string) => {
    log.info({ signal }, 'transfer worker stopping');
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
