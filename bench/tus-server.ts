/**
 * The peer: @tus/server with @tus/s3-store in front of the same RGW bucket Stratus uses, with the
 * same 8 MiB part size, run as its own Node process (as Stratus's server is) on a free port, so
 * that the CPU seconds read from /proc/<pid>/stat are the peer's alone, not the bench client's.
 * `startTusServer()` spawns this file; run directly it serves and prints `tus ready on <port>`.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import { testEnv } from '../test/support/env.ts';
import { MiB } from './lib/stats.ts';
import { rgwClientConfig } from './lib/stack.ts';

export interface TusServer {
  /** The tus creation endpoint. */
  endpoint: string;
  /** The server process (its CPU is read by pid). */
  pid: number;
  /** The S3 keys an upload URL left in the bucket (the object and its `.info`). */
  keysOf(uploadUrl: string): string[];
  close(): Promise<void>;
}

async function serve(): Promise<void> {
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
  process.stdout.write(`tus ready on ${(server.address() as AddressInfo).port}\n`);
}

export async function startTusServer(timeoutMs = 30_000): Promise<TusServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: testEnv.root,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tus server did not start in ${timeoutMs} ms`)), timeoutMs);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /tus ready on (\d+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tus server exited with ${code}`));
    });
  });
  child.stdout.resume();
  const pid = child.pid;
  if (pid === undefined) throw new Error('tus server has no pid');
  return {
    endpoint: `http://127.0.0.1:${port}/files`,
    pid,
    keysOf: (uploadUrl) => {
      const id = decodeURIComponent(new URL(uploadUrl).pathname.split('/').pop() ?? '');
      return [id, `${id}.info`];
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  serve().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
