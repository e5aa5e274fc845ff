/**
 * `npx tsx bench/profile/lean-get-probe.ts [MiB] [reps] [inFlight]`: the CPU this process spends
 * per GiB to proxy an RGW object through lean-get.ts into a socket, with each read copied into a
 * fresh Buffer (`copy`) against reads into pooled buffers given back after the socket's write
 * (`pool`, internal/storage/support/buffer-pool.ts + api/http/send-body.ts). The socket's reader
 * is a child process that discards, so the CPU measured is the proxy's own (user and kernel).
 * A diagnosis, not a README figure (the bench's download step is).
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import net from 'node:net';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { sendBody } from '../../api/http/send-body.ts';
import { BufferPool } from '../../internal/storage/support/buffer-pool.ts';
import { leanGet } from '../../internal/storage/s3/lean-get.ts';
import { loadSplicer } from '../../internal/platform/splice.ts';
import { runBucketsUntilExit } from '../../test/support/run-buckets.ts';
import { directS3, tempFile } from '../lib/stack.ts';
import { round } from '../lib/stats.ts';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 256) * MiB;
const reps = Number(process.argv[3] ?? 3);
const inFlight = Number(process.argv[4] ?? 1);

const removeRunBuckets = await runBucketsUntilExit();
const sink = spawn(process.execPath, ['-e', `require('net').createServer((s) => s.resume()).listen(0, '127.0.0.1', function () { console.log(this.address().port); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => sink.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
const s3 = directS3();
const source = await tempFile('probe.bin', size, `lean-get-probe-${Date.now()}`);
const Key = `probe/lean-get-${Date.now()}`;
try {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: createReadStream(source.file), ContentLength: size }));
  const pool = new BufferPool(MiB, 32);
  const splicer = loadSplicer();
  const once = async (mode: 'copy' | 'pool' | 'splice') => {
    const url = new URL(await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.bucket, Key }), { expiresIn: 300 }));
    const answer = await leanGet(url, {}, { connectTimeoutMs: 5000, idleTimeoutMs: 30_000, ...(mode === 'pool' ? { pool } : {}) });
    const out = net.connect({ host: '127.0.0.1', port });
    out.on('error', () => {}); // the sink is killed at the end
    await new Promise((r) => out.once('connect', r));
    if (mode === 'splice') {
      const taken = answer.take();
      if (!taken || !splicer) throw new Error('no connection to take, or no splicer');
      await new Promise<void>((r) => out.write(taken.prefix, () => r()));
      const slot = splicer.reserve();
      if (!slot) throw new Error('no place to splice');
      const outcome = await slot.move(taken.socket, out, taken.left, { idleTimeoutMs: 30_000 });
      if (!outcome.ok) throw new Error(`splice failed: ${JSON.stringify(outcome)}`);
      taken.socket.destroy();
      out.end();
      return;
    }
    await sendBody(answer.body, out, mode === 'pool' ? (chunk) => pool.give(chunk) : () => {});
  };
  for (const mode of ['pool', 'splice', 'pool', 'splice'] as const) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await Promise.all(Array.from({ length: inFlight }, () => once(mode)));
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu);
    const gib = (size * reps * inFlight) / 1024 ** 3;
    console.log(
      `${mode}: ${round((size * reps * inFlight) / MiB / seconds, 1)} MiB/s, CPU s/GiB user ${round(used.user / 1e6 / gib, 2)} sys ${round(used.system / 1e6 / gib, 2)}` +
        (mode === 'pool' ? `, pool ${JSON.stringify(pool.stats())}` : ''),
    );
  }
} finally {
  sink.kill();
  source.remove();
  await removeRunBuckets();
}
