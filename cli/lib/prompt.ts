/**
 * Reading secrets without leaving them in `ps`, shell history or the scrollback:
 * - `readHidden`: a prompt on the terminal with echo off. The TTY goes to raw mode (no echo, no
 *   line editing, no signals), so this reads key by key: Enter ends, Backspace and Ctrl-U edit,
 *   Ctrl-C cancels (exit 130, as a SIGINT would), Ctrl-D on an empty line gives up;
 * - `readStdinLine`: the first line of a pipe, like `docker login --password-stdin`; refused when
 *   stdin is a terminal (the secret would be echoed as it is typed: use the prompt instead).
 * Prompts go to stderr: stdout carries only results.
 */
import { createInterface } from 'node:readline/promises';
import { Interrupted, UsageError } from './cli.errors.ts';

const MAX_LINE = 4096;

export function isTerminal(): boolean {
  return Boolean(process.stdin.isTTY);
}

export async function readHidden(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) throw new UsageError(`cannot prompt for ${prompt.replace(/:\s*$/, '').toLowerCase()}: stdin is not a terminal`);
  output.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string) => {
        // A paste arrives as one chunk: walk it by code point.
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(typed));
          if (ch === '\u0003') return done(() => reject(new Interrupted('cancelled at the prompt')));
          if (ch === '\u0004' && typed === '') return done(() => reject(new UsageError('no password typed')));
          if (ch === '\u007f' || ch === '\b') typed = Array.from(typed).slice(0, -1).join('');
          else if (ch === '\u0015') typed = '';
          else if (ch >= ' ' && typed.length < MAX_LINE) typed += ch;
        }
      };
      const onEnd = () => done(() => reject(new UsageError('the terminal closed before a password was typed')));
      const done = (settle: () => void) => {
        input.off('data', onData);
        input.off('end', onEnd);
        settle();
      };
      input.on('data', onData);
      input.once('end', onEnd);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    output.write('\n');
  }
}

/** A visible prompt (the user name). */
export async function readVisible(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

/** The first line of stdin without its line ending (LF or CRLF); at most 4 KiB. */
export async function readStdinLine(flag: string, input: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (input.isTTY) throw new UsageError(`${flag} needs a pipe, not a terminal: printf '%s\\n' "$SECRET" | stratus ... ${flag} (or leave it out to be prompted)`);
  let buffered = '';
  for await (const chunk of input.setEncoding('utf8')) {
    buffered += chunk as string;
    if (buffered.includes('\n') || buffered.length > MAX_LINE) break;
  }
  const line = buffered.split('\n', 1)[0]?.replace(/\r$/, '') ?? '';
  if (line === '') throw new UsageError(`no password on stdin (${flag} reads one line)`);
  if (line.length > MAX_LINE) throw new UsageError(`the first line of stdin is longer than ${MAX_LINE} characters`);
  return line;
}
