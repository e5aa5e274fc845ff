// npm's postinstall: builds the splice addon (native/splice) that moves big proxied downloads from
// the object store's socket to the client's inside the kernel. Optional by design: without a C
// toolchain, or off Linux, the build is skipped with a warning and downloads stream through the
// process (internal/platform/splice.ts finds no addon). Never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../native/splice');
const warn = (why) => console.warn(`[native/splice] not built (${why}): proxied downloads will stream through the process`);

if (process.platform !== 'linux') {
  warn(`${process.platform} has no splice(2)`);
} else {
  // npm hands lifecycle scripts the path of its own node-gyp; run by hand, the one beside npm.
  const gyp = process.env.npm_config_node_gyp ?? path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (!existsSync(gyp)) warn(`no node-gyp at ${gyp}`);
  else {
    // Node's own headers where they were installed with it (no download: npm's nodedir, if set, wins).
    const prefix = path.join(path.dirname(process.execPath), '..');
    const nodedir = process.env.npm_config_nodedir ?? (existsSync(path.join(prefix, 'include/node/common.gypi')) ? prefix : undefined);
    const args = [gyp, 'rebuild', '--silent', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
    const run = spawnSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) warn(`node-gyp exited with ${run.status ?? run.signal}`);
    else console.log('[native/splice] built: big proxied downloads are spliced (DOWNLOAD_SPLICE=auto)');
  }
}
