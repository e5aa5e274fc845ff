/**
 * The command line's saved state, and the API client it signs in with:
 * - the server URL: `--url`, else `STRATUS_URL`, else the URL saved by `login`, else localhost;
 * - `config.json` in the config directory (0600): `{ url, accessToken, refreshToken }`;
 * - `uploads.json` in the state directory: upload session id → absolute local path, for `stratus resume`;
 * - `STRATUS_TOKEN`: a token for scripts, sent as the Bearer token as is, before any saved login:
 *   a personal access token (`stp_…`; a session's access token works too, until it expires). It is
 *   never refreshed or saved.
 * Directories and file modes: settings.ts and local-files.ts.
 */
import path from 'node:path';
import { ApiError, StratusApi } from './api.ts';
import { RefreshTokenDocument, type Operation } from './graphql.generated.ts';
import { configFile, readJson, uploadsFile, writeJson } from './local-files.ts';
import { settings } from './settings.ts';

export const DEFAULT_URL = 'http://localhost:8080';

export interface Credentials {
  url: string;
  accessToken: string;
  refreshToken: string;
}

export const readCredentials = () => readJson<Credentials>(configFile(settings));
export const saveCredentials = (credentials: Credentials) => writeJson(configFile(settings), credentials);

export function serverUrl(flag: string | undefined): string {
  return (flag ?? settings.url ?? readCredentials()?.url ?? DEFAULT_URL).replace(/\/+$/, '');
}

// ---- uploads the command line started, for `stratus resume` ----

export const knownUploads = (): Record<string, string> => readJson<Record<string, string>>(uploadsFile(settings)) ?? {};

export function rememberUpload(sessionId: string, file: string): void {
  // Read-modify-write each time: two uploads running at once each add their own entry.
  writeJson(uploadsFile(settings), { ...knownUploads(), [sessionId]: path.resolve(file) });
}

export function forgetUpload(sessionId: string): void {
  const uploads = knownUploads();
  if (!(sessionId in uploads)) return;
  delete uploads[sessionId];
  writeJson(uploadsFile(settings), uploads);
}

// ---- the signed-in client ----

/** Seconds until a JWT expires, read without verifying (the server verifies; we only plan ahead). */
function secondsLeft(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: number };
    return typeof payload.exp === 'number' ? payload.exp - Date.now() / 1000 : Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * StratusApi that renews its access token with the saved refresh token: ahead of expiry on a
 * timer (chunk PUTs read `token` per request, so a long upload never sends a stale one) and again
 * when a GraphQL call answers UNAUTHENTICATED. Refresh tokens are single use and reuse revokes the
 * whole family, so refreshes are serialised and each new pair is saved at once.
 */
export class CliApi extends StratusApi {
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    token: string | undefined,
    private credentials?: Credentials,
  ) {
    super(url, token);
    this.schedule();
  }

  override async gql<T, V = Record<string, unknown>>(query: Operation<T, V> | string, variables?: V): Promise<T> {
    const sent = this.token;
    try {
      return await super.gql<T, V>(query, variables);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED' || !this.credentials) throw error;
      await this.refresh(sent);
      return super.gql<T, V>(query, variables);
    }
  }

  /** Renews the token unless someone already replaced `stale` with a newer one. */
  async refresh(stale = this.token): Promise<void> {
    if (this.token !== stale) return;
    this.refreshing ??= this.renew().finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  private async renew(): Promise<void> {
    const saved = this.credentials;
    if (!saved) throw new ApiError('not signed in: run `stratus login`', 'UNAUTHENTICATED');
    // Another stratus process may have rotated the pair already: take its tokens, not a reuse.
    const onDisk = readCredentials();
    if (onDisk && onDisk.url === saved.url && onDisk.refreshToken !== saved.refreshToken && secondsLeft(onDisk.accessToken) > 30) {
      this.adopt(onDisk);
      return;
    }
    try {
      const { refreshToken: pair } = await new StratusApi(this.url).gql(RefreshTokenDocument, { refreshToken: saved.refreshToken });
      const next = { url: saved.url, ...pair };
      saveCredentials(next);
      this.adopt(next);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') throw new ApiError(`session expired (${error.message}): run \`stratus login\``, 'UNAUTHENTICATED');
      throw error;
    }
  }

  private adopt(credentials: Credentials): void {
    this.credentials = credentials;
    this.token = credentials.accessToken;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.credentials || !this.token) return;
    const left = secondsLeft(this.token);
    if (!Number.isFinite(left)) return;
    // A minute early; unref'd so a finished command never waits for it. A failure here is
    // retried by the next UNAUTHENTICATED answer, which reports it properly.
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), Math.max(0, (left - 60) * 1000));
    this.timer.unref();
  }

  /** Renew now if the token is about to expire (a stored login from yesterday). */
  async fresh(): Promise<this> {
    if (this.credentials && this.token && secondsLeft(this.token) < 60) await this.refresh();
    return this;
  }
}

/** The client for a command: STRATUS_TOKEN wins; else the saved login, if it is for this server. */
export async function connect(urlFlag: string | undefined): Promise<CliApi> {
  const url = serverUrl(urlFlag);
  if (settings.token) return new CliApi(url, settings.token);
  const saved = readCredentials();
  if (!saved || saved.url.replace(/\/+$/, '') !== url) throw new ApiError(`not signed in to ${url}: run \`stratus login\``, 'UNAUTHENTICATED');
  return new CliApi(url, saved.accessToken, saved).fresh();
}
