/**
 * The `stratus` command line: dispatches to cli/commands, maps failures to exit codes
 * (0 success, 1 an error with its code — `error: QUOTA_EXCEEDED: ...` —, 2 bad usage) and turns
 * SIGINT/SIGTERM into a prompt exit: uploads keep their receipts on the server and downloads keep
 * their partial file and sidecar, so `stratus resume` / the same download continue later.
 */
import { note, UsageError, type Command } from './commands/args.ts';
import { download } from './commands/download.ts';
import { fsck } from './commands/fsck.ts';
import { login } from './commands/login.ts';
import { resume } from './commands/resume.ts';
import { upload } from './commands/upload.ts';
import { whoami } from './commands/whoami.ts';

const commands: Record<string, Command> = { upload, resume, download, login, whoami, fsck };

const USAGE = `usage:
${Object.values(commands).map((c) => `  ${c.usage}`).join('\n')}

The server is --url, else $STRATUS_URL, else the one you logged in to, else http://localhost:8080.
$STRATUS_TOKEN (an access token) replaces the login; state lives in $STRATUS_CONFIG_DIR (~/.config/stratus).`;

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
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
    await command.run(rest, { signal: controller.signal });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      note(`stratus ${name}: ${error.message}\nusage: ${command.usage}`);
      return 2;
    }
    note(`error: ${describe(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
