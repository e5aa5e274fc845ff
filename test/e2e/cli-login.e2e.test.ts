/**
 * The `stratus` binary's sign-in and local files, end to end against the all-in-one app: the
 * hidden password prompt on a real pseudo-terminal, `--password-stdin` (refused on a TTY), the XDG
 * base directories (config.json 0600 in a 0700 directory, unfinished uploads in the state
 * directory), the one-time move from the old location, `--version` and `STRATUS_TOKEN`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testEnv } from '../support/env.ts';
import { gql } from '../support/graphql.ts';
import { makeHome, onTerminal, run, type Home } from './cli-harness.ts';

const PASSWORD = 'a-good-password-1';

let t: TestApp;
let alice: { token: string; name: string };

beforeAll(async () => {
  t = await startTestApp();
  const name = `cli${randomBytes(4).toString('hex')}`;
  alice = { token: (await t.signUp(name)).token, name };
});
afterAll(() => t?.close());

const mode = (p: string) => statSync(p).mode & 0o777;
const savedLogin = (home: Home) => JSON.parse(readFileSync(path.join(home.config, 'config.json'), 'utf8')) as { url: string; accessToken: string; refreshToken: string };

describe('stratus login: where the password comes from', () => {
  it('prompts for the password on the terminal with echo off, then saves config.json 0600 in a 0700 XDG config directory', async () => {
    const home = makeHome();
    const term = onTerminal(['login', '--username', alice.name], { url: t.url, home });
    await term.waitFor('Password:');
    term.type(`${PASSWORD}\r`);
    const r = await term.done;
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`logged in to ${t.url} as ${alice.name}`);
    // The terminal shows the prompt and the result, never the typed password.
    expect(r.stdout).not.toContain(PASSWORD);
    expect(mode(home.config)).toBe(0o700);
    expect(mode(path.join(home.config, 'config.json'))).toBe(0o600);
    expect(savedLogin(home).url).toBe(t.url);
    const me = await run(['whoami'], { url: t.url, home });
    expect([me.code, me.stdout]).toEqual([0, expect.stringContaining(`${alice.name} <${alice.name}@example.com>`)]);
  }, 120_000);

  it('a wrong password typed at the prompt exits 1 with the server code, and stores nothing', async () => {
    const home = makeHome();
    const term = onTerminal(['login', '-u', alice.name], { url: t.url, home });
    await term.waitFor('Password:');
    term.type('wrong-password-1\r');
    const r = await term.done;
    expect([r.code, r.stdout]).toEqual([1, expect.stringMatching(/^error: UNAUTHENTICATED/m)]);
    expect(existsSync(path.join(home.config, 'config.json'))).toBe(false);
  }, 120_000);

  it('asks for the user name too when none is given; Ctrl-C at the password prompt exits 130 and stores nothing', async () => {
    const home = makeHome();
    const term = onTerminal(['login'], { url: t.url, home });
    await term.waitFor('Username:');
    term.type(`${alice.name}\r`);
    await term.waitFor('Password:');
    term.type(`${PASSWORD}\r`);
    const r = await term.done;
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining(`as ${alice.name}`)]);
    expect(r.stdout).toContain(alice.name);
    expect(r.stdout).not.toContain(PASSWORD);

    const other = makeHome();
    const cancelled = onTerminal(['login', '-u', alice.name], { url: t.url, home: other });
    await cancelled.waitFor('Password:');
    cancelled.type('half-typed\u0003');
    const c = await cancelled.done;
    expect(c.code, c.stdout).toBe(130);
    expect(c.stdout).not.toContain('half-typed');
    expect(existsSync(path.join(other.config, 'config.json'))).toBe(false);
  }, 120_000);

  it('--password-stdin reads one line from a pipe (like docker login), and is refused when stdin is a terminal', async () => {
    const home = makeHome();
    const r = await run(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home, stdin: `${PASSWORD}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(savedLogin(home).url).toBe(t.url);
    // Only the first line is the password; a trailing CRLF is not part of it.
    const crlf = await run(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home: makeHome(), stdin: `${PASSWORD}\r\nsecond line\n` });
    expect(crlf.code, crlf.stderr).toBe(0);
    const empty = await run(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home: makeHome(), stdin: '' });
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringContaining('no password on stdin')]);

    const term = onTerminal(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home: makeHome() });
    const refused = await term.done;
    expect([refused.code, refused.stdout]).toEqual([2, expect.stringContaining('--password-stdin needs a pipe')]);
    expect(refused.stdout).not.toContain('Password:');
  }, 120_000);

  it('without a password and without a terminal: exit 2 naming the ways to give one; --password on the command line warns', async () => {
    const r = await run(['login', '-u', alice.name], { url: t.url, home: makeHome() });
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--password-stdin')]);
    const both = await run(['login', '-u', alice.name, '--password', PASSWORD, '--password-stdin'], { url: t.url, home: makeHome(), stdin: PASSWORD });
    expect(both.code).toBe(2);
    const flag = await run(['login', '-u', alice.name, '--password', PASSWORD], { url: t.url, home: makeHome() });
    expect([flag.code, flag.stderr]).toEqual([0, expect.stringContaining('insecure')]);
  }, 120_000);
});

describe('stratus local files: XDG base directories', () => {
  it('defaults to ~/.config/stratus/config.json and ~/.local/state/stratus/uploads.json', async () => {
    const home = makeHome('stratus-cli-plain-', false);
    const r = await run(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home, stdin: PASSWORD });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(path.join(home.home, '.config/stratus/config.json'))).toBe(0o600);
    // Larger than one chunk, so it goes as a resumable session, which the state file records
    // while it runs (a file of one chunk goes in one request and needs no record).
    const file = path.join(home.home, 'one.bin');
    writeFileSync(file, Buffer.alloc(5 * 1024 * 1024, 7));
    const up = await run(['upload', '--chunk-size', String(4 * 1024 * 1024), file], { url: t.url, home });
    expect(up.code, up.stderr).toBe(0);
    // The record of unfinished uploads is state, not configuration (XDG Base Directory spec 0.8).
    expect(JSON.parse(readFileSync(path.join(home.home, '.local/state/stratus/uploads.json'), 'utf8'))).toEqual({});
    expect(mode(path.join(home.home, '.local/state/stratus'))).toBe(0o700);
    expect(existsSync(path.join(home.home, '.config/stratus/uploads.json'))).toBe(false);
  }, 120_000);

  it('moves a login and upload records from the old location once, and says so', async () => {
    const home = makeHome('stratus-cli-migrate-');
    const old = path.join(home.home, '.config/stratus');
    mkdirSync(old, { recursive: true });
    const pair = await gql<{ login: { accessToken: string; refreshToken: string } }>(t.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }', { u: alice.name, p: PASSWORD });
    const credentials = JSON.stringify({ url: t.url, ...pair.data?.login });
    writeFileSync(path.join(old, 'credentials.json'), credentials, { mode: 0o600 });
    writeFileSync(path.join(old, 'uploads.json'), JSON.stringify({ 'old-session': '/tmp/x.bin' }), { mode: 0o600 });

    const first = await run(['whoami'], { url: t.url, home });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`moved ${path.join(old, 'credentials.json')} to ${path.join(home.config, 'config.json')}`);
    expect(first.stderr).toContain(`moved ${path.join(old, 'uploads.json')} to ${path.join(home.state, 'uploads.json')}`);
    expect(existsSync(path.join(old, 'credentials.json'))).toBe(false);
    expect(mode(path.join(home.config, 'config.json'))).toBe(0o600);
    expect(JSON.parse(readFileSync(path.join(home.state, 'uploads.json'), 'utf8'))).toEqual({ 'old-session': '/tmp/x.bin' });
    const second = await run(['whoami'], { url: t.url, home });
    expect([second.code, second.stderr]).toEqual([0, expect.not.stringContaining('moved')]);
  }, 120_000);
});

describe('stratus --version and STRATUS_TOKEN', () => {
  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(testEnv.root, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['--version'], { url: t.url, home: makeHome() });
    expect([r.code, r.stdout]).toEqual([0, `stratus ${version}\n`]);
    const json = await run(['--version', '--json'], { url: t.url, home: makeHome() });
    expect([json.code, JSON.parse(json.stdout)]).toEqual([0, { version }]);
  }, 120_000);

  it('STRATUS_TOKEN is sent as the Bearer token and wins over a saved login', async () => {
    const bob = await t.signUp();
    const home = makeHome();
    const login = await run(['login', '-u', alice.name, '--password-stdin'], { url: t.url, home, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    const me = await run(['whoami', '--json'], { url: t.url, home, token: bob.token });
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ id: bob.userId });
  }, 120_000);
});
