/**
 * A `lookup` for node:http that asks a given DNS server (node:dns Resolver) instead of the system
 * resolver. Tests point it at a fake DNS server answering `*.svc.cluster.local`; in a cluster the
 * default system lookup already reaches CoreDNS, so production leaves it unset.
 */
import { Resolver } from 'node:dns';
import type { LookupFunction } from './node-fetch.ts';

export function resolverLookup(servers: string[]): LookupFunction {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers(servers);
  return (hostname, options, callback) => {
    resolver.resolve4(hostname, (error, addresses) => {
      const first = addresses?.[0];
      if (error || !first) {
        callback(error ?? Object.assign(new Error(`no A record for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        return;
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
          null,
          addresses.map((address) => ({ address, family: 4 })),
        );
      } else {
        callback(null, first, 4);
      }
    });
  };
}
