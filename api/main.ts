/**
 * Process entry point (`npm start`): reads the configuration once, then runs the role it names.
 * ROLE=all (the default) runs the gateway and every service in one process on embedded defaults.
 */
import { loadConfig, ConfigError, type Config } from '../internal/platform/config.ts';
import type { Logger } from '../internal/platform/logger.ts';
import { startRole } from './roles.ts';
import { createLogger } from '../internal/platform/logger.ts';
import { startAllInOne } from './all-in-one.ts';
import { startTracing } from '../internal/platform/tracing/tracing.ts';
import { existsSync, chmodSync } from 'node:fs';
import { PRIVATE_DIR_MODE, PRIVATE_UMASK } from '../internal/platform/private-files.ts';

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
  const log = createLogger({ level: config.logLevel, name: `stratus-${config.role}` });
  // An existing DATA_DIR made by an older version (0755) is closed: what it holds (SQLite file,
  // local objects) becomes unreachable for other local users even where its own mode is 0644.
  if (existsSync(config.dataDir)) {
    try {
      chmodSync(config.dataDir, PRIVATE_DIR_MODE);
    } catch (error) {
      log.warn({ err: error, dataDir: config.dataDir }, 'DATA_DIR could not be made owner-only (0700)');
    }
  }
  // Before anything connects, so every seam sees tracing on (or off) from its first call.
  const tracing = await startTracing(config.tracing);
  const app = await start(config, log);
  log.info(`Stratus ${config.role} is ready on http://localhost:${app.port}/${config.role === 'all' || config.role === 'api' ? ' (GraphiQL: /graphiql)' : ''}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // The spans of the last requests are still in the batch: sent before exiting.
    const flush = () => tracing.shutdown().catch((error: unknown) => log.warn({ err: error }, 'sending the last spans failed'));
    app.close().then(
      () => flush().then(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        void flush().then(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function start(config: Config, log: Logger): Promise<{ port: number; close(): Promise<void> }> {
  switch (config.role) {
    case 'all':
      return startAllInOne(config, log);
    case 'api':
    case 'accounts':
    case 'files':
    case 'uploads':
    case 'transfer':
      return startRole(config.role, config, log);
    case 'operator':
      throw new ConfigError('ROLE=operator is started by its own entry point (operator/main.ts)');
  }
}

// Everything this process creates is owner-only (0600 files, 0700 folders), whatever umask it was
// started with; the places that create files also pass these modes themselves (private-files.ts).
process.umask(PRIVATE_UMASK);

// The operator is a process of its own kind (no HTTP API, leader election): its entry point
// reads its own configuration and owns its shutdown.
const entry = process.env.ROLE === 'operator' ? import('../operator/main.ts').then(() => undefined) : main();
entry.catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
