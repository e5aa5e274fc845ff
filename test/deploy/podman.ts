/**
 * Podman for the image tests, with the settings these machines need (../shared/notes/containers.md):
 * the `runc` runtime (crun refuses the hybrid cgroups here) and explicit ulimits no higher than the
 * host's hard limits (else `setrlimit … operation not permitted`). scripts/lib/podman.sh installs
 * podman and builds the stand-in Node base images (no registry is reachable here); this builds the
 * repository's Dockerfile on them and runs containers.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from './manifests.ts';

const execFileAsync = promisify(execFile);

/** The image pods.test.ts builds and runs (and prebuild-image.ts builds ahead of it). */
export const IMAGE_REPO = 'localhost/stratus';
export const IMAGE_TAG = 'pods-test';

function hardNofile(): number {
  const out = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const n = out === 'unlimited' ? 65536 : Number(out);
  return Math.min(Number.isFinite(n) && n > 0 ? n : 1024, 20_000);
}

/** Options every `podman build` and `podman run` gets. */
export function runtimeOptions(): string[] {
  const nofile = hardNofile();
  return ['--runtime', 'runc', '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', 'nproc=4096:4096'];
}

export async function podman(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await execFileAsync('podman', args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
  return stdout;
}

/** Installs podman when missing and makes the stand-in bases; returns their names. */
export async function ensureBases(): Promise<{ build: string; runtime: string }> {
  const { stdout } = await execFileAsync('bash', ['scripts/lib/podman.sh'], { cwd: ROOT, timeout: 15 * 60_000, maxBuffer: 8 * 1024 * 1024 });
  const [build = '', runtime = ''] = stdout.trim().split('\n').pop()?.split(' ') ?? [];
  if (!build || !runtime) throw new Error(`scripts/lib/podman.sh printed no image names: ${stdout}`);
  return { build, runtime };
}

/**
 * Builds the Dockerfile as it is, on the given bases (its NODE_BUILD_IMAGE/NODE_RUNTIME_IMAGE
 * arguments). `--network host` lets npm inside the build reach the registry as the host does;
 * unchanged layers come from podman's cache, so a rebuild without changes takes seconds.
 */
export async function buildImage(tag: string, bases: { build: string; runtime: string }): Promise<{ seconds: number; log: string }> {
  const started = Date.now();
  const args = ['build', ...runtimeOptions(), '--network', 'host', '--layers', '--format', 'docker', '--build-arg', `NODE_BUILD_IMAGE=${bases.build}`, '--build-arg', `NODE_RUNTIME_IMAGE=${bases.runtime}`, '-t', tag, '-f', 'Dockerfile', '.'];
  try {
    const { stdout, stderr } = await execFileAsync('podman', args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 });
    return { seconds: Math.round((Date.now() - started) / 1000), log: `${stdout}\n${stderr}` };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`podman build failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}

/** Runs a command in a fresh container of `image` with the given run options; returns stdout. */
export async function runOnce(image: string, options: string[], command: string[]): Promise<string> {
  return podman(['run', '--rm', ...runtimeOptions(), ...options, image, ...command]);
}

export async function logs(name: string): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync('podman', ['logs', name], { maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    return `(no logs: ${(error as Error).message})`;
  }
}

/** Stops (SIGTERM, then SIGKILL after `graceSeconds`) and removes a container; never throws. */
export async function remove(name: string, graceSeconds = 10): Promise<void> {
  await execFileAsync('podman', ['rm', '--force', '--time', String(graceSeconds), name], { timeout: (graceSeconds + 30) * 1000 }).catch(() => undefined);
}
