/** The accounts service as tRPC procedures: parse input with zod, call the service, nothing else. */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { AccountSessions } from './account-sessions.service.ts';
import type { AccountsService } from './accounts.service.ts';
import { accessTokensRouter } from './access-tokens.router.ts';
import { assertSession, type AccessTokensService } from './access-tokens.service.ts';

/** Usernames: 3–32 of letters, digits, `_`, `.`, `-`; unique regardless of case. */
export const Username = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, 'A username has 3 to 32 letters, digits, "_", "." or "-"');
export const Email = z
  .string()
  .trim()
  .max(254)
  .toLowerCase()
  .pipe(z.email({ message: 'Not a valid e-mail address' }));
const Secret = z.string().min(1).max(512);

const NewPassword = z.string().max(1024);

export function accountsRouter(service: AccountsService, sessions: AccountSessions, accessTokens: AccessTokensService) {
  return router({
    requestEmailCode: publicProcedure
      .input(z.object({ email: Email }))
      .mutation(({ input, ctx }) => service.requestEmailCode(input.email, ctx.ip)),
    register: publicProcedure
      .input(z.object({ username: Username, email: Email, password: z.string().max(1024), code: z.string().trim().max(16) }))
      .mutation(({ input }) => service.register(input)),
    login: publicProcedure
      .input(z.object({ username: z.string().trim().min(1).max(254), password: z.string().max(1024) }))
      .mutation(({ input, ctx }) => service.login(input.username, input.password, ctx.ip)),
    refreshToken: publicProcedure
      .input(z.object({ refreshToken: Secret }))
      .mutation(({ input, ctx }) => service.refresh(input.refreshToken, ctx.ip)),
    logout: publicProcedure
      .input(z.object({ refreshToken: Secret }))
      .mutation(({ input }) => service.logout(input.refreshToken)),
    logoutAll: authedProcedure.mutation(({ ctx }) => sessions.logoutAll(ctx.viewer)),
    changePassword: authedProcedure
      .input(z.object({ oldPassword: z.string().max(1024), newPassword: NewPassword }))
      .mutation(({ input, ctx }) => {
        // A personal access token cannot change the password (it would outlive the change).
        assertSession(ctx.viewer);
        return sessions.changePassword(ctx.viewer, input.oldPassword, input.newPassword);
      }),
    requestPasswordReset: publicProcedure
      .input(z.object({ email: Email }))
      .mutation(async ({ input, ctx }) => {
        await service.codeRequested(ctx.ip);
        return sessions.requestPasswordReset(input.email);
      }),
    resetPassword: publicProcedure
      .input(z.object({ email: Email, code: z.string().trim().max(16), newPassword: NewPassword }))
      .mutation(({ input }) => sessions.resetPassword(input.email, input.code, input.newPassword)),
    me: authedProcedure.query(({ ctx }) => service.me(ctx.viewer)),
    accessTokens: accessTokensRouter(accessTokens),
  });
}

export type AccountsRouter = ReturnType<typeof accountsRouter>;
