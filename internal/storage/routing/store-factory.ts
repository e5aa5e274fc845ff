/**
 * One backend entry of the routing file → the driver that speaks to it. The switch is exhaustive:
 * adding a type to the routing schema fails to compile until it is built here.
 */
import { CosObjectStore } from '../cos/cos.store.ts';
import { LocalObjectStore } from '../local/local.store.ts';
import type { ObjectStore } from '../object-store.ts';
import { OssObjectStore } from '../oss/oss.store.ts';
import { S3ObjectStore } from '../s3/s3.store.ts';
import type { BackendConfig } from './routing-config.ts';

export function createStore(backend: BackendConfig): ObjectStore {
  switch (backend.type) {
    case 'ceph':
      return new S3ObjectStore({
        name: backend.name,
        type: 'ceph',
        endpoint: backend.endpoint,
        ...(backend.publicEndpoint === undefined ? {} : { publicEndpoint: backend.publicEndpoint }),
        region: backend.region,
        bucket: backend.bucket,
        accessKeyId: backend.credentials.accessKeyId,
        secretAccessKey: backend.credentials.secretAccessKey,
        // RGW and most self-hosted S3 stores have no wildcard DNS for virtual-host buckets.
        forcePathStyle: true,
      });
    case 'oss':
      return new OssObjectStore({
        name: backend.name,
        endpoint: backend.endpoint,
        region: backend.region,
        bucket: backend.bucket,
        accessKeyId: backend.credentials.accessKeyId,
        accessKeySecret: backend.credentials.accessKeySecret,
        // The endpoint carries its scheme; keep ali-oss's own `secure` flag in agreement with it.
        secure: new URL(backend.endpoint).protocol === 'https:',
      });
    case 'cos':
      return new CosObjectStore({
        name: backend.name,
        endpoint: backend.endpoint,
        region: backend.region,
        bucket: backend.bucket,
        secretId: backend.credentials.secretId,
        secretKey: backend.credentials.secretKey,
      });
    case 'local':
      return new LocalObjectStore({ name: backend.name, root: backend.path });
    default:
      return unreachable(backend);
  }
}

function unreachable(value: never): never {
  throw new Error(`unknown storage backend type: ${JSON.stringify((value as { type?: unknown }).type)}`);
}
