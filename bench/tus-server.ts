/**
 * The peer: @tus/server with @tus/s3-store in front of the same RGW bucket Stratus uses, run in
 * this process on a free port (as a Node app would embed it), with the same 8 MiB part size.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import { testEnv } from '../test/support/env.ts';
import { MiB } from './lib/stats.ts';
import { rgwClientConfig } from './lib/stack.ts';

export interface TusServer {
  /** The tus creation endpoint. */
  endpoint: string;
  /** The S3 keys an upload URL left in the bucket (the object and its `.info`). */
  keysOf(uploadUrl: string): string[];
  close(): Promise<void>;
}

export async function startTusServer(): Promise<TusServer> {
  const s3 = testEnv.s3;
  const datastore = new S3Store({
    partSize: 8 * MiB,
    // The direct client's settings (RGW 16 refuses the SDK's default trailing checksums, 411).
    s3ClientConfig: { ...rgwClientConfig(), bucket: s3.bucket },
  });
  const tus = new Server({ path: '/files', datastore });
  const server = http.createServer((req, res) => {
    tus.handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/files`,
    keysOf: (uploadUrl) => {
      const id = decodeURIComponent(new URL(uploadUrl).pathname.split('/').pop() ?? '');
      return [id, `${id}.info`];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
