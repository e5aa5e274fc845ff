/**
 * Entry point of the StorageBackend operator: configuration from the environment (once), the
 * cluster from the in-cluster service account or ~/.kube/config (KubeConfig.loadFromDefault),
 * blob counts from the Stratus database. SIGTERM steps down and releases the Lease so another
 * replica takes over at once.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { allEntities } from '../internal/entities.ts';
import { openDatabase } from '../internal/platform/db/orm.ts';
import { createLogger } from '../internal/platform/logger.ts';
import { SqlBlobInventory } from './blob-inventory.ts';
import { loadOperatorConfig } from './config.ts';
import { createOperatorMetrics } from './metrics.ts';
import { startOperatorHealthServer } from './health.server.ts';
import { Operator } from './operator.ts';

async function main(): Promise<void> {
  const config = loadOperatorConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'stratus-operator' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const orm = await openDatabase(config.database, allEntities, logger);
  const operator = new Operator({
    kubeConfig,
    namespace: config.namespace,
    identity: config.identity,
    leaseName: config.leaseName,
    leaseDurationSeconds: config.leaseDurationSeconds,
    inventory: new SqlBlobInventory(orm),
    logger,
    probeIntervalMs: config.probeIntervalMs,
    failedProbeIntervalMs: config.failedProbeIntervalMs,
    probeTimeoutMs: config.probeTimeoutMs,
    deletionPollMs: config.deletionPollMs,
    metrics: createOperatorMetrics({ commit: config.commit }),
  });
  operator.start();
  // The chart's startup/liveness/readiness probes ask these on port `http` (PORT).
  const health = await startOperatorHealthServer({ operator, ...config.http, logger });
  logger.info({ namespace: config.namespace, identity: config.identity }, 'operator started');
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await operator.stop();
    await health.close();
    await orm.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
