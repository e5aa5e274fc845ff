/**
 * `stratus_build_info{version,commit}` = 1, on the app's and the operator's registries: which
 * build a pod runs, joinable onto any other series (`* on(pod) group_left(version) …`). The
 * version is package.json's; the commit comes from configuration (STRATUS_COMMIT, set by the
 * image build), since the image carries no .git.
 */
import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/** package.json's version, read once. */
export const STRATUS_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function registerBuildInfo(registry: Registry, commit: string): void {
  const gauge = new Gauge({
    name: 'stratus_build_info',
    help: 'The running build: version (package.json) and commit (STRATUS_COMMIT); always 1',
    labelNames: ['version', 'commit'],
    registers: [registry],
  });
  gauge.set({ version: STRATUS_VERSION, commit }, 1);
}
