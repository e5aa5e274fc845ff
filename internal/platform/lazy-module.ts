/**
 * A CommonJS package loaded the first time it is needed, not when the process starts: the vendor
 * SDKs (ali-oss, cos-nodejs-sdk-v5) and the SQL driver a deployment does not use cost 10–15 MiB of
 * resident memory each (code and source kept by V8), measured on an idle server. A deployment pays
 * only for the backends and database it configured.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
