/** The gateway's typed clients of the internal services, in process or by Kubernetes DNS name. */
import type { TRPCClient } from '@trpc/client';
import type { AccountsRouter } from '../internal/accounts/index.ts';
import type { FilesRouter } from '../internal/files/index.ts';
import type { TransferRouter } from '../internal/transfer/index.ts';
import type { UploadsRouter } from '../internal/uploads/index.ts';
import type { Logger } from '../internal/platform/logger.ts';
import { serviceClient, type ClientLinks, type Discovery } from '../internal/platform/rpc/client.ts';

export interface Routers {
  accounts: AccountsRouter;
  files: FilesRouter;
  uploads: UploadsRouter;
  transfer: TransferRouter;
}

export interface Clients {
  accounts: TRPCClient<AccountsRouter>;
  files: TRPCClient<FilesRouter>;
  uploads: TRPCClient<UploadsRouter>;
  transfer: TRPCClient<TransferRouter>;
}

/**
 * `routers` is needed in process only; by DNS the routers' types are all the gateway knows.
 * `links`: the process's client links (Runtime.rpcLinks: metrics, tracing).
 */
export function createClients(discovery: Discovery, routers: Partial<Routers>, log: Logger, links: ClientLinks = []): Clients {
  const router = <K extends keyof Routers>(name: K): Routers[K] => {
    const r = routers[name];
    if (!r && discovery.mode === 'inprocess') throw new Error(`service ${name} is not running in this process`);
    return r as Routers[K];
  };
  return {
    accounts: serviceClient('accounts', router('accounts'), discovery, log, links),
    files: serviceClient('files', router('files'), discovery, log, links),
    uploads: serviceClient('uploads', router('uploads'), discovery, log, links),
    transfer: serviceClient('transfer', router('transfer'), discovery, log, links),
  };
}
