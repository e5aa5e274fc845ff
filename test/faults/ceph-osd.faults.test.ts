/**
 * Fault: Ceph with three OSDs and pools of size 3 / min size 2 (`CEPH_OSDS=3 scripts/services.sh
 * up` switches to that cluster): one OSD stopped, uploads and downloads go on; brought back,
 * nothing is lost. Afterwards the one-OSD cluster of the other tests is started again.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { baseOf, removeBucket, rgwClient, sweepStaleRunBuckets } from '../support/run-buckets.ts';

const MiB = 1024 * 1024;
const CLUSTER = '/var/lib/stratus/ceph-3osd';
const services = (env: Record<string, string> = {}) =>
  execFileSync('bash', ['scripts/services.sh', 'up'], { cwd: testEnv.root, env: { ...process.env, ...env }, stdio: 'ignore', timeout: 280_000 });
const ceph = (...args: string[]) => execFileSync('ceph', ['--connect-timeout', '10', ...args], { env: { ...process.env, CEPH_CONF: `${CLUSTER}/ceph.conf` } }).toString();

let t: TestApp;
const s3 = rgwClient();
// The run's own buckets (test/support/run-buckets.ts) are on the one-OSD cluster: this cluster
// gets them for the test's time, and loses them, with what the test stored, before it stops.
const runBuckets = () => [testEnv.s3.bucket, testEnv.s3.bucket2];

beforeAll(async () => {
  services({ CEPH_OSDS: '3' });
  // Those of a run killed here before: only this test ever sees this cluster's buckets.
  await sweepStaleRunBuckets(s3, runBuckets().map(baseOf));
  for (const bucket of runBuckets()) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  t = await startTestApp();
}, 300_000);

afterAll(async () => {
  await t?.close();
  for (const bucket of runBuckets()) await removeBucket(s3, bucket);
  s3.destroy();
  services();
}, 300_000);

function osdPid(id: number): number {
  return Number(readFileSync(`${CLUSTER}/run/osd.${id}.pid`, 'utf8').trim());
}

it('keeps uploading and downloading with one of three OSDs down, and loses nothing', async () => {
  expect(ceph('osd', 'stat')).toMatch(/3 osds: 3 up/);
  const { token } = await t.signUp();
  const api = new StratusApi(t.url, token);
  const before = await makeFile('before.bin', 24 * MiB);
  const first = await uploadFile(api, before, { noInstant: true });
  expect(first.session.status).toBe('COMPLETED');

  process.kill(osdPid(1), 'SIGTERM');
  // "one OSD stopped is marked down in 1–2 s and reads and writes go on"
  for (let i = 0; i < 30 && !/2 up/.test(ceph('osd', 'stat')); i++) await sleep(500);
  expect(ceph('osd', 'stat')).toMatch(/2 up/);

  const during = await makeFile('during.bin', 24 * MiB);
  const second = await uploadFile(api, during, { noInstant: true, parallel: 3 });
  expect(second.session.status).toBe('COMPLETED');
  const headers = { authorization: `Bearer ${token}` };
  expect((await hashDownload(`${t.url}/files/${first.session.file!.id}/content`, headers)).contentHash).toBe(await fileContentHash(before, 24 * MiB));

  services({ CEPH_OSDS: '3' });
  for (let i = 0; i < 60 && !/3 up/.test(ceph('osd', 'stat')); i++) await sleep(500);
  expect(ceph('osd', 'stat')).toMatch(/3 osds: 3 up/);
  expect((await hashDownload(`${t.url}/files/${first.session.file!.id}/content`, headers)).contentHash).toBe(await fileContentHash(before, 24 * MiB));
  expect((await hashDownload(`${t.url}/files/${second.session.file!.id}/content`, headers)).contentHash).toBe(await fileContentHash(during, 24 * MiB));
}, 240_000);
