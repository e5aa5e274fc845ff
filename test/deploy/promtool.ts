/**
 * promtool, Prometheus's own rule checker and rule unit-test runner, extracted from Debian's
 * prometheus package to bin/promtool by scripts/lib/promtool.sh (scripts/test.sh runs it first;
 * here it is a no-op then). A missing promtool fails the tests that use it, never skips them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { execFileAsync, ROOT } from './manifests.ts';

let bin = '';

export async function setUpPromtool(): Promise<void> {
  const { stdout } = await execFileAsync('bash', [path.join(ROOT, 'scripts/lib/promtool.sh')], { cwd: ROOT });
  bin = stdout.trim().split('\n').pop() ?? '';
}

/**
 * Runs promtool in a scratch directory holding `files` (name → object, written as YAML), e.g.
 * `check rules rules.yaml`; resolves with its output whatever the exit code.
 */
export async function promtool(args: string[], files: Record<string, unknown>): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stratus-promtool-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), yaml.dump(content, { lineWidth: -1, noRefs: true }));
    const { stdout, stderr } = await execFileAsync(bin, args, { cwd: dir, maxBuffer: 8 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
