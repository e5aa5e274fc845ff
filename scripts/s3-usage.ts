/**
 * What the test services' RGW holds: for each bucket of the test user (the shared test buckets,
 * and the per-run buckets of vitest runs, test/support/run-buckets.ts), its objects, their bytes
 * and its open multipart uploads. `npx tsx scripts/s3-usage.ts [--json]`.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { bucketUsage } from '../test/support/bucket-usage.ts';
import { rgwClient } from '../test/support/run-buckets.ts';

async function main(): Promise<void> {
  const client = rgwClient();
  const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
  const rows = await Promise.all(Buckets.map((b) => bucketUsage(client, b.Name ?? '', b.CreationDate?.toISOString() ?? '')));
  client.destroy();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  for (const r of rows) {
    process.stdout.write(`${r.bucket.padEnd(40)} ${String(r.objects).padStart(7)} objects ${(r.bytes / 2 ** 30).toFixed(2).padStart(7)} GiB ${String(r.multipartUploads).padStart(5)} open multipart  (created ${r.created})\n`);
  }
}

await main();
