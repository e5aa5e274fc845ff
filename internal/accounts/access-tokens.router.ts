/** Personal access tokens as tRPC procedures (`accounts.accessTokens.*`): parse input, call the service. */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { AccessTokensService } from './access-tokens.service.ts';

const Scope = z.enum(['READ', 'WRITE']);

export function accessTokensRouter(service: AccessTokensService) {
  return router({
    create: authedProcedure
      .input(z.object({ name: z.string().max(1024), scopes: z.array(Scope).max(2), expiresAt: z.coerce.date().nullish() }))
      .mutation(({ input, ctx }) => service.create(ctx.viewer, input)),
    list: authedProcedure.query(({ ctx }) => service.list(ctx.viewer)),
    revoke: authedProcedure
      .input(z.object({ id: z.string().max(64) }))
      .mutation(({ input, ctx }) => service.revoke(ctx.viewer, input.id)),
    /**
     * The gateway's exchange of a presented token (Bearer, or Basic with `login`) for the person
     * and an access JWT: a mutation, as it may record a use or a failed sign-in.
     */
    authenticate: publicProcedure
      .input(z.object({ token: z.string().max(512), login: z.string().trim().min(1).max(254).optional() }))
      .mutation(({ input, ctx }) => service.authenticate(input.token, input.login, ctx.ip)),
  });
}
