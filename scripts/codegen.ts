/**
 * `npm run codegen`: writes the generated GraphQL types (scripts/codegen/codegen.config.ts).
 * `npm run codegen:check` (`--check`): writes nothing, fails when a committed file is stale.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateAll, ROOT, staleFiles } from './codegen/generate.ts';

if (process.argv.includes('--check')) {
  const stale = await staleFiles();
  if (stale.length > 0) {
    console.error(`Generated GraphQL code is stale (run npm run codegen and commit): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log('generated GraphQL code is up to date');
} else {
  for (const [file, text] of await generateAll()) {
    await writeFile(path.join(ROOT, file), text);
    console.log(`wrote ${file}`);
  }
}
