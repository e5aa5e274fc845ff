/**
 * The container image recipe, checked without a Docker engine (none runs here): the Dockerfile is
 * parsed into instructions per stage and held to the rules of issue 8 — multi-stage, a small
 * non-root runtime stage that copies only what runs, no ADD of URLs, a HEALTHCHECK on /healthz,
 * the entrypoint that picks the role from ROLE — and checked against the repository (every
 * copied path exists, tsx survives the dev-dependency prune, the build context leaves out what
 * the image rebuilds itself).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../internal/platform/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined), grouped by FROM. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '', line: startLine });
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      const resolved = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '');
      stages.push({ from: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [key = '', value = ''] = instruction.args.split('=');
      args.set(key, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const { stages } = parseDockerfile(dockerfile);
const runtime = stages.at(-1) as Stage;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const env = (stage: Stage): Record<string, string> =>
  Object.fromEntries(all(stage, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], (m[2] ?? '').replace(/^"|"$/g, '')])));

/** The splice addon (native/splice), compiled by npm ci's postinstall in the deps stage. */
const SPLICE_ADDON = 'native/splice/build/Release/splice.node';

describe('Dockerfile', () => {
  it('is multi-stage: dependencies built with npm ci, dev dependencies pruned, a slim runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.every((s) => s.name), 'every stage is named').toBe(true);
    const runs = stages.flatMap((s) => all(s, 'RUN').map((i) => i.args));
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /require\('better-sqlite3'\)/.test(r)), 'the native addon is loaded once at build time').toBe(true);
    expect(runs.some((r) => r.includes(`require('./${SPLICE_ADDON}')`)), 'the splice addon is built and loads').toBe(true);
    expect(runs.some((r) => /\bnpm prune --omit=dev\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build:web\b/.test(r))).toBe(true);
    // Node 22 LTS: Node 20 is past its end of life (April 2026); package.json's engines accept both.
    expect(runtime.from).toBe('node:22-bookworm-slim');
    // The build stages use the same Debian release, so the compiled addon matches the runtime's glibc.
    for (const stage of stages.slice(0, -1)) expect(stage.from.startsWith('node:22-bookworm') || stages.some((s) => s.name === stage.from)).toBe(true);
    expect(all(runtime, 'RUN').some((i) => /npm (ci|install)/.test(i.args)), 'the runtime installs nothing').toBe(false);
  });

  it('runs as a non-root user (uid 10001) in /app with NODE_ENV=production', () => {
    const users = all(runtime, 'USER');
    expect(users).toHaveLength(1);
    const user = (users[0]?.args ?? '').split(':')[0];
    expect(user).toBe('10001');
    expect(all(runtime, 'WORKDIR').map((i) => i.args)).toEqual(['/app']);
    expect(env(runtime)).toMatchObject({ NODE_ENV: 'production', ROLE: 'all', PORT: '8080' });
    // USER comes after every RUN/COPY that needs root, and before the entrypoint.
    const index = (keyword: string) => runtime.instructions.findIndex((i) => i.keyword === keyword);
    expect(index('USER')).toBeGreaterThan(Math.max(...runtime.instructions.flatMap((i, n) => (i.keyword === 'RUN' ? [n] : []))));
    expect(index('USER')).toBeLessThan(index('ENTRYPOINT'));
  });

  it('never ADDs (no remote URLs, no implicit archive extraction)', () => {
    const adds = stages.flatMap((s) => all(s, 'ADD'));
    for (const add of adds) expect(add.args, `line ${add.line}`).not.toMatch(/https?:\/\/|git@/);
    expect(adds).toEqual([]);
  });

  it('copies only what runs, from the build stage, and every copied path exists in the repository', () => {
    const copies = all(runtime, 'COPY');
    expect(copies.every((c) => /--from=\w+/.test(c.args)), 'the runtime takes files from a build stage only').toBe(true);
    const sources = copies.flatMap((c) => {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1).map((p) => p.replace(/^\/app\//, ''));
    });
    expect(new Set(sources)).toEqual(
      new Set(['package.json', 'tsconfig.json', 'node_modules', 'schema.graphql', 'api', 'internal', 'cli', 'operator', 'web/dist', SPLICE_ADDON]),
    );
    // Built in the image, not kept in the repository: the dependencies, the web UI, the addon.
    for (const source of sources.filter((s) => s !== 'node_modules' && s !== 'web/dist' && s !== SPLICE_ADDON)) {
      expect(existsSync(path.join(ROOT, source)), source).toBe(true);
    }
  });

  it('checks health on /healthz, exposes 8080 and starts api/main.ts through tsx, the role from ROLE', () => {
    const healthchecks = all(runtime, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]?.args).toMatch(/CMD \[.*\/healthz/);
    expect(all(runtime, 'EXPOSE').map((i) => i.args)).toEqual(['8080']);
    const entrypoints = all(runtime, 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    expect(JSON.parse(entrypoints[0]?.args ?? 'null')).toEqual(['node', '--import', 'tsx', 'api/main.ts']);
    expect(all(runtime, 'CMD')).toEqual([]);
    expect(ROLES).toContain(env(runtime).ROLE);
    // SIGTERM must reach node (exec form, no shell in between).
    expect(all(runtime, 'STOPSIGNAL').every((i) => i.args === 'SIGTERM')).toBe(true);
  });

  it('keeps tsx (a runtime dependency) through the prune, and the entry point it starts exists', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(pkg.dependencies['better-sqlite3'] ?? pkg.dependencies['@mikro-orm/better-sqlite']).toBeDefined();
    expect(pkg.scripts['build:web']).toBeDefined();
    expect(existsSync(path.join(ROOT, 'api/main.ts'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'package-lock.json'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('leaves out what the image builds itself, local state and secrets', () => {
    for (const required of ['.git', '**/node_modules', 'data', 'web/dist', 'bin/helm', 'scripts/.env.test', 'coverage']) {
      expect(patterns, required).toContain(required);
    }
  });

  it('keeps everything the Dockerfile copies from the context', () => {
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'schema.graphql', 'api', 'internal', 'cli', 'operator', 'web'];
    for (const p of needed) expect(patterns, p).not.toContain(p);
    expect(patterns.some((p) => p === '*' || p === '**')).toBe(false);
  });
});
