/**
 * `npm run bench:readme`: writes the README's Benchmarks table from bench/results/latest.json (the
 * last full `npm run bench`), so every figure in it comes from one run. No service needed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTable } from './lib/readme-table.ts';
import type { Results } from './lib/report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = path.join(root, 'README.md');
const results = JSON.parse(readFileSync(path.join(root, 'bench/results/latest.json'), 'utf8')) as Results;
writeFileSync(readmePath, withTable(readFileSync(readmePath, 'utf8'), results));
console.log(`README.md: Benchmarks table from the run of ${results.startedAt} (${results.rows.length} rows)`);
