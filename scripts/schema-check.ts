/**
 * `npm run schema:check`: fails on a breaking change of schema.graphql against the last released
 * schema (schema/released.graphql) that schema/intended-changes.json does not list.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './codegen/generate.ts';
import { checkSchema, type IntendedChange } from './codegen/schema-diff.ts';

const read = (file: string) => readFile(path.join(ROOT, file), 'utf8');
const { changes } = JSON.parse(await read('schema/intended-changes.json')) as { changes: IntendedChange[] };
const verdict = await checkSchema(await read('schema/released.graphql'), await read('schema.graphql'), changes);
for (const change of verdict.other) console.log(`${change.criticality.level}: ${change.path ?? ''} ${change.message}`);
for (const change of verdict.intended) console.log(`BREAKING (intended): ${change.path ?? ''} ${change.message}`);
for (const change of verdict.unintended) console.error(`BREAKING: ${change.path ?? ''} ${change.message}`);
if (verdict.unintended.length > 0) {
  console.error('schema.graphql breaks clients of the released schema; mark the change in schema/intended-changes.json (path, reason) if it is meant');
  process.exit(1);
}
console.log('schema.graphql: no unintended breaking change against schema/released.graphql');
