/**
 * Runs the real `stratus` binary (node bin/stratus.mjs) for the CLI end-to-end tests: with pipes,
 * or on a pseudo-terminal through util-linux `script` (the hidden password prompt needs a TTY).
 * Every run gets its own HOME; `xdg` sets XDG_CONFIG_HOME / XDG_STATE_HOME inside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';

export const BIN = path.join(testEnv.root, 'bin/stratus.mjs');

/** A home directory with XDG config and state directories of its own. */
export interface Home {
  home: string;
  /** $XDG_CONFIG_HOME/stratus */
  config: string;
  /** $XDG_STATE_HOME/stratus */
  state: string;
  /** Extra environment for the CLI: XDG variables, unless `xdg: false`. */
  env: Record<string, string>;
}

export function makeHome(prefix = 'stratus-cli-home-', xdg = true): Home {
  const home = tempDir(prefix);
  if (!xdg) return { home, config: path.join(home, '.config/stratus'), state: path.join(home, '.local/state/stratus'), env: {} };
  const configHome = path.join(home, 'xdg-config');
  const stateHome = path.join(home, 'xdg-state');
  mkdirSync(configHome);
  mkdirSync(stateHome);
  return { home, config: path.join(configHome, 'stratus'), state: path.join(stateHome, 'stratus'), env: { XDG_CONFIG_HOME: configHome, XDG_STATE_HOME: stateHome } };
}

export interface RunEnv {
  url: string;
  home: Home;
  token?: string;
  extra?: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Finished>;
}

function environment(env: RunEnv): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: env.home.home,
    STRATUS_URL: env.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env.home.env,
    ...(env.token ? { STRATUS_TOKEN: env.token } : {}),
    ...env.extra,
  };
}

function collect(child: ChildProcess): Run {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Finished>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export function stratus(args: string[], env: RunEnv): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: testEnv.root,
    env: environment(env),
    stdio: [env.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (env.stdin !== undefined) child.stdin?.end(env.stdin);
  return collect(child);
}

export const run = (args: string[], env: RunEnv) => stratus(args, env).done;

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The CLI on a pseudo-terminal (`script -qfec CMD /dev/null`): stdin, stdout and stderr are the
 * pty, so everything the terminal shows — prompts and any echoed keystrokes — is in `stdout`.
 * `script -e` exits with the command's status.
 */
export function onTerminal(args: string[], env: RunEnv): Run & { type(text: string): void; waitFor(text: string, ms?: number): Promise<void> } {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: testEnv.root, env: { ...environment(env), SHELL: '/bin/sh', TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const running = collect(child);
  return {
    ...running,
    type: (text) => void child.stdin?.write(text),
    async waitFor(text, ms = 20_000) {
      for (const deadline = Date.now() + ms; !running.stdout().includes(text); await sleep(20)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`"${text}" never appeared on the terminal:\n${running.stdout()}${running.stderr()}`);
      }
    },
  };
}
