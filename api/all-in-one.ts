/** The all-in-one process: gateway + every service in one process, services reached in process. */
import { createAccounts, filesDriveProvisioner, type Mailer } from '../internal/accounts/index.ts';
import { createFiles } from '../internal/files/index.ts';
import { createTransfer } from '../internal/transfer/index.ts';
import { createUploads } from '../internal/uploads/index.ts';
import { serviceClient } from '../internal/platform/rpc/client.ts';
import { allEntities } from '../internal/entities.ts';
import type { Config } from '../internal/platform/config.ts';
import type { OrmHooks } from '../internal/platform/db/orm.ts';
import type { Logger } from '../internal/platform/logger.ts';
import { createRuntime, type Runtime } from '../internal/platform/runtime.ts';
import { createClients } from './clients.ts';
import { startGateway } from './gateway.ts';

export interface RunningApp {
  port: number;
  runtime: Runtime;
  uploads: ReturnType<typeof createUploads>;
  transfer: Awaited<ReturnType<typeof createTransfer>>;
  close(): Promise<void>;
}

export interface Overrides {
  mailer?: Mailer;
  ormHooks?: OrmHooks;
}

export async function startAllInOne(config: Config, log: Logger, overrides: Overrides = {}): Promise<RunningApp> {
  const runtime = await createRuntime(config, allEntities, log, overrides.ormHooks);
  try {
    const files = createFiles(runtime);
    // Registration makes the new person's root folder and quota through the files service.
    const drive = filesDriveProvisioner(serviceClient('files', files.router, { mode: 'inprocess' }, log, runtime.rpcLinks), runtime.tokens);
    const accounts = createAccounts(runtime, drive, overrides.mailer);
    const uploads = createUploads(runtime, serviceClient('files', files.router, { mode: 'inprocess' }, log, runtime.rpcLinks));
    // The transfer worker runs here too (in-process queue without AMQP_URL); completed uploads on a
    // staging backend are handed to it.
    const transfer = await createTransfer(runtime);
    uploads.completion.afterComplete = (stored) => transfer.drainer.afterUpload(stored);
    const clients = createClients({ mode: 'inprocess' }, { accounts: accounts.router, files: files.router, uploads: uploads.router, transfer: transfer.router }, log, runtime.rpcLinks);
    const gateway = await startGateway(runtime, clients);
    const port = await gateway.listen(config.http.port, config.http.host);
    return {
      port,
      runtime,
      uploads,
      transfer,
      close: async () => {
        await gateway.close();
        await runtime.close();
      },
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
