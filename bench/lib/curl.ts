/**
 * curl into /dev/null, as people download: its status, bytes, redirects followed (-L) and its own
 * CPU seconds (user + system, from bash's `time`). curl drops the Authorization header when a
 * redirect leaves the host and port it was given for (CVE-2022-27776's fix), as a presigned URL
 * needs. Used by the download step (bench/download.bench.ts) and bench/profile/download-clients.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CurlGet {
  status: number;
  bytes: number;
  redirects: number;
  /** curl's own CPU seconds. */
  cpu: number;
}

export async function curlGet(url: string, headers: Record<string, string>, options: { range?: { start: number; end: number }; follow?: boolean } = {}): Promise<CurlGet> {
  const args = ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{num_redirects}', ...(options.follow ? ['-L'] : [])];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (options.range) args.push('-r', `${options.range.start}-${options.range.end}`);
  args.push(url);
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const { stdout, stderr } = await run('bash', ['-c', `TIMEFORMAT='%U %S'; time ${quoted}`]);
  const [status = 0, bytes = 0, redirects = 0] = stdout.trim().split(' ').map(Number);
  const [user = 0, system = 0] = stderr.trim().split(/\s+/).slice(-2).map(Number);
  return { status, bytes, redirects, cpu: user + system };
}
