/**
 * The real stack the benchmarks run on (started by `bash scripts/services.sh up`): a direct S3
 * client for the RGW bucket Stratus writes to, RGW garbage collection, disk checks and temp files.
 */
import { execFile } from 'node:child_process';
import { rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { rgwClientConfig } from '../../test/support/run-buckets.ts';
import { testEnv } from '../../test/support/env.ts';
import { makeFile } from '../../test/support/files.ts';
import { GiB } from './stats.ts';

const run = promisify(execFile);

/** Progress goes to stderr so that stdout holds only the table. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The direct S3 client's settings: the test RGW's, as the server's S3ObjectStore has them. */
export { rgwClientConfig } from '../../test/support/run-buckets.ts';

/** A client of the bucket Stratus writes to: the run's (TEST_S3_BUCKET, pointed at it by bench/run.ts). */
export function directS3(): { client: S3Client; bucket: string } {
  const s3 = testEnv.s3;
  const client = new S3Client(rgwClientConfig());
  return { client, bucket: s3.bucket };
}

export async function deleteObjects(s3: { client: S3Client; bucket: string }, keys: string[]): Promise<void> {
  await Promise.all(keys.map((Key) => s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key }))));
}

/** Deleted RGW objects keep their space until GC runs (2 h by default): free it now. */
export async function rgwGc(): Promise<void> {
  await run('bash', [path.join(testEnv.root, 'scripts/services.sh'), 'gc'], { cwd: testEnv.root });
}

/**
 * Space left in the Ceph cluster before it turns full (the OSD of scripts/lib/ceph.sh is a 10 GiB
 * file and refuses writes at the full ratio, 95%: every RGW write then hangs, for every user).
 */
export async function cephFreeGiB(): Promise<number> {
  const conf = path.join(process.env.STRATUS_CEPH_DIR ?? '/var/lib/stratus/ceph', 'ceph.conf');
  const { stdout } = await run('ceph', ['df', '-f', 'json', '--connect-timeout', '10'], { env: { ...process.env, CEPH_CONF: conf } });
  const stats = (JSON.parse(stdout) as { stats: { total_bytes: number; total_used_raw_bytes: number } }).stats;
  return (stats.total_bytes * 0.95 - stats.total_used_raw_bytes) / GiB;
}

export function freeDiskGiB(dir = '/'): number {
  const s = statfsSync(dir);
  return (s.bavail * s.bsize) / GiB;
}

/** A seeded file in its own temp dir, and a remover for that dir. */
export async function tempFile(name: string, size: number, seed: string): Promise<{ file: string; remove(): void }> {
  const file = await makeFile(name, size, seed);
  return { file, remove: () => rmSync(path.dirname(file), { recursive: true, force: true }) };
}

export async function describeDisk(): Promise<string> {
  const ceph = await cephFreeGiB().then((g) => `${g.toFixed(1)} GiB`, () => 'unknown');
  return `${freeDiskGiB().toFixed(1)} GiB free on /, ${ceph} writable in Ceph`;
}
