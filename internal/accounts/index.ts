/** Builds the accounts service and its router from the shared runtime. */
import type { Runtime } from '../platform/runtime.ts';
import { AccountSessions } from './account-sessions.service.ts';
import { AccessTokensRepository } from './access-tokens.repository.ts';
import { AccessTokensService } from './access-tokens.service.ts';
import { accountsRouter } from './accounts.router.ts';
import { AccountsRepository } from './accounts.repository.ts';
import { AccountsService } from './accounts.service.ts';
import type { DriveProvisioner } from './drive-provisioner.port.ts';
import { LogMailer, SmtpMailer, type Mailer } from './mailer.driver.ts';
import { SignInGuard } from './sign-in-guard.ts';

/** `drive` makes each new person's root folder and quota (filesDriveProvisioner over a files client). */
export function createAccounts(runtime: Runtime, drive: DriveProvisioner, mailer?: Mailer) {
  const { config, log } = runtime;
  const mail = mailer ?? (config.smtp.url ? new SmtpMailer(config.smtp.url, config.smtp.from) : new LogMailer(log));
  runtime.onClose(() => mail.close());
  const repo = new AccountsRepository(runtime.orm);
  const service = new AccountsService(repo, runtime.kv, mail, runtime.tokens, drive, undefined, {
    limits: config.clientLimits,
    onPasswordCheck: () => runtime.metrics.signInPasswordChecks.inc(),
  });
  const sessions = new AccountSessions(repo, runtime.kv, mail, runtime.tokens, (error) => log.warn({ err: error }, 'password reset e-mail failed'));
  const guard = new SignInGuard(runtime.kv, config.clientLimits);
  const accessTokens = new AccessTokensService(new AccessTokensRepository(runtime.orm), repo, guard, runtime.tokens);
  return { service, sessions, accessTokens, router: accountsRouter(service, sessions, accessTokens) };
}

export { REFRESH_TOKEN_TTL_MS } from './accounts.service.ts';
export { ACCESS_TOKENS_LISTED, isPersonalAccessToken, type AccessTokenDto, type NewAccessToken, type TokenSignIn } from './access-tokens.service.ts';
export type { Mailer } from './mailer.driver.ts';
export type { AccountsRouter } from './accounts.router.ts';
export { filesDriveProvisioner, type DriveProvisioner } from './drive-provisioner.port.ts';
