/**
 * The contract checks themselves (no services): the breaking-change check of schema.graphql and
 * the staleness check of the generated code.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OutputConfig } from './codegen.config.ts';
import { ROOT, generateAll, staleFiles } from './generate.ts';
import { checkSchema } from './schema-diff.ts';

const released = `type Query { me: User! }
type User { id: ID! name: String! }`;

describe('schema:check (breaking changes against the released schema)', () => {
  it('fails on a removed field', async () => {
    const verdict = await checkSchema(released, 'type Query { me: User! }\ntype User { id: ID! }', []);
    expect(verdict.unintended.map((c) => c.path)).toEqual(['User.name']);
  });

  it('passes on an added field', async () => {
    const verdict = await checkSchema(released, 'type Query { me: User! }\ntype User { id: ID! name: String! email: String }', []);
    expect(verdict.unintended).toEqual([]);
    expect(verdict.other.map((c) => c.path)).toEqual(['User.email']);
  });

  it('passes on a removed field listed as intended', async () => {
    const verdict = await checkSchema(released, 'type Query { me: User! }\ntype User { id: ID! }', [{ path: 'User.name', reason: 'test' }]);
    expect(verdict.unintended).toEqual([]);
    expect(verdict.intended.map((c) => c.path)).toEqual(['User.name']);
  });

  it('finds the repository schema unchanged against schema/released.graphql, or its breaks intended', async () => {
    const read = (file: string) => readFile(path.join(ROOT, file), 'utf8');
    const { changes } = JSON.parse(await read('schema/intended-changes.json')) as { changes: [] };
    expect((await checkSchema(await read('schema/released.graphql'), await read('schema.graphql'), changes)).unintended).toEqual([]);
  });
});

describe('codegen:check (generated code up to date)', () => {
  const output: OutputConfig = { file: 'out/types.generated.ts', documents: ['ops.graphql'], plugins: ['typescript', 'typescript-operations'], config: { enumsAsTypes: true } };

  it('passes when the committed file is what the schema gives, fails once the schema changed', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'stratus-codegen-'));
    try {
      await mkdir(path.join(root, 'out'));
      await writeFile(path.join(root, 'schema.graphql'), 'type Query { name: String! }');
      await writeFile(path.join(root, 'ops.graphql'), 'query Name { name }');
      expect(await staleFiles(root, [output])).toEqual([output.file]);
      for (const [file, text] of await generateAll(root, [output])) await writeFile(path.join(root, file), text);
      expect(await staleFiles(root, [output])).toEqual([]);

      await writeFile(path.join(root, 'schema.graphql'), 'type Query { name: String }');
      expect(await staleFiles(root, [output])).toEqual([output.file]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('finds the committed generated files up to date', async () => {
    expect(await staleFiles()).toEqual([]);
  });
});
