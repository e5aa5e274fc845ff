/**
 * Process entry point (`npm start`): reads the configuration once, then runs the role it names.
 * ROLE=all (the default) runs the gateway and every service in one process on embedded defaults.
 */
import { loadConfig, ConfigError } from '../internal/platform/config.ts';
import { createLogger } from '../internal/platform/logger.ts';
import { startAllInOne } from './all-in-one.ts';

async function main() {
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
  const app = await startAllInOne(config, log);
  log.info(`Stratus is ready on http://localhost:${app.port}/ (GraphiQL: /graphiql)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
