/**
 * The command line's environment, read in this one place (the other modules take what they need
 * from here), and the directories it keeps its files in, after the XDG Base Directory
 * Specification 0.8:
 * - configuration: `$XDG_CONFIG_HOME/stratus/config.json`, `$XDG_CONFIG_HOME` defaulting to
 *   `~/.config` ("If $XDG_CONFIG_HOME is either not set or empty, a default equal to
 *   $HOME/.config should be used"); `STRATUS_CONFIG_DIR`, the older override, still wins;
 * - state: `$XDG_STATE_HOME/stratus/uploads.json` (unfinished uploads, for `stratus resume`),
 *   `$XDG_STATE_HOME` defaulting to `~/.local/state` — state "that should persist between
 *   (application) restarts, but that is not important or portable enough" for the config dir.
 * "All paths set in these environment variables must be absolute. If an implementation encounters
 * a relative path in any of these variables it should consider the path invalid and ignore it."
 */
import os from 'node:os';
import path from 'node:path';

export interface Settings {
  /** STRATUS_URL: the server, unless --url says otherwise. */
  url: string | undefined;
  /** STRATUS_TOKEN: sent as `Authorization: Bearer` instead of the saved login. */
  token: string | undefined;
  /** STRATUS_PASSWORD: a password for `login` that stays out of `ps` and shell history. */
  password: string | undefined;
  configDir: string;
  stateDir: string;
  /** Where version 0.1 kept credentials.json and uploads.json (moved once, see dirs.ts). */
  legacyDir: string;
}

type Env = Record<string, string | undefined>;

const nonEmpty = (value: string | undefined) => (value ? value : undefined);
const absolute = (value: string | undefined) => (value && path.isAbsolute(value) ? value : undefined);

export function readSettings(env: Env = process.env, home = os.homedir()): Settings {
  const override = absolute(env.STRATUS_CONFIG_DIR);
  return {
    url: nonEmpty(env.STRATUS_URL),
    token: nonEmpty(env.STRATUS_TOKEN),
    password: nonEmpty(env.STRATUS_PASSWORD),
    configDir: override ?? path.join(absolute(env.XDG_CONFIG_HOME) ?? path.join(home, '.config'), 'stratus'),
    stateDir: path.join(absolute(env.XDG_STATE_HOME) ?? path.join(home, '.local', 'state'), 'stratus'),
    legacyDir: override ?? path.join(home, '.config', 'stratus'),
  };
}

/** Read once per process: a command sees one consistent environment. */
export const settings: Settings = readSettings();
