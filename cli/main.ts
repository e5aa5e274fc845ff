/**
 * The `stratus` command line: dispatches to cli/commands and maps failures to exit codes:
 * 0 success; 1 an error, on stderr with its code and the server's stable reason
 * (`error: CONFLICT: … (reason: name_taken)`, or `{"error":{…}}` under --json); 2 bad usage;
 * 130/143 interrupted by SIGINT/SIGTERM (or Ctrl-C at a prompt). An interrupted upload keeps its
 * receipts on the server and a download its partial file and sidecar, so `stratus resume` / the
 * same download continue later.
 */
import { readFileSync } from 'node:fs';
import { note, outJson, UsageError, type Command } from './commands/args.ts';
import { download } from './commands/download.ts';
import { fsck } from './commands/fsck.ts';
import { login } from './commands/login.ts';
import { ls } from './commands/ls.ts';
import { mkdir } from './commands/mkdir.ts';
import { mv } from './commands/mv.ts';
import { resume } from './commands/resume.ts';
import { rm } from './commands/rm.ts';
import { share } from './commands/share.ts';
import { upload } from './commands/upload.ts';
import { whoami } from './commands/whoami.ts';
import { errorView, formatError, Interrupted } from './lib/cli.errors.ts';
import { migrateLegacyFiles } from './lib/local-files.ts';
import { settings } from './lib/settings.ts';

const commands: Record<string, Command> = { ls, mkdir, mv, rm, share, upload, resume, download, login, whoami, fsck };

const USAGE = `usage:
${Object.values(commands).map((c) => `  ${c.usage}`).join('\n')}
  stratus --version

Every command takes --json (results on stdout as JSON, errors on stderr as {"error": ...}).
Exit status: 0 ok, 1 error, 2 bad usage, 130/143 interrupted.
The server is --url, else $STRATUS_URL, else the one you logged in to, else http://localhost:8080.
$STRATUS_TOKEN is sent as the Bearer token instead of the login. The login is kept in
\${XDG_CONFIG_HOME:-~/.config}/stratus/config.json, unfinished uploads in \${XDG_STATE_HOME:-~/.local/state}/stratus/.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes('--json');
  const early = builtIn(name, json);
  if (early !== undefined) return early;
  const command = commands[name!];
  if (!command) {
    note(`stratus: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    controller.abort();
    note(`\ninterrupted (${signal}): run the same command again${name === 'upload' || name === 'resume' ? ' or `stratus resume`' : ''} to continue`);
    // No waiting for in-flight requests: the server discards a half-sent chunk, and a partial
    // download file is a valid prefix whatever write was in progress.
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // fsck runs server-side and keeps no client files.
    if (name !== 'fsck') migrateLegacyFiles(settings, note);
    await command.run(rest, { signal: controller.signal });
    return 0;
  } catch (error) {
    return reportFailure(error, name!, command.usage, json);
  }
}

/** `version` and `help` (no command): the exit status, or undefined for a command to run. */
function builtIn(name: string | undefined, json: boolean): number | undefined {
  if (name === '--version' || name === '-V' || name === 'version') {
    if (json) outJson({ version: version() });
    else process.stdout.write(`stratus ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  return undefined;
}

/** Says why a command failed (stderr, JSON with --json) and returns the exit status. */
function reportFailure(error: unknown, name: string, usage: string, json: boolean): number {
  if (error instanceof UsageError) {
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: 'USAGE', message: error.message, usage } })}\n`);
    else note(`stratus ${name}: ${error.message}\nusage: ${usage}`);
    return 2;
  }
  if (error instanceof Interrupted) {
    note(error.message);
    return 130;
  }
  const view = errorView(error);
  if (json) process.stderr.write(`${JSON.stringify({ error: view })}\n`);
  else note(formatError(view));
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
