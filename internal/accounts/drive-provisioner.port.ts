/**
 * A new person's drive (root folder and quota row) is made at registration, by the files service:
 * it alone owns those tables. The call is made as the new person, like any service call: in
 * process the viewer travels in the request context; across processes a one-minute access token,
 * which the files service verifies itself (internal/platform/rpc/serve.ts).
 */
import type { TRPCClient } from '@trpc/client';
import type { FilesRouter } from '../files/index.ts';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import { currentContext, newRequestId, runWithContext, type Viewer } from '../platform/request-context.ts';

export interface DriveProvisioner {
  /** Idempotent: a retried call leaves one root folder and one quota row. */
  provision(person: Viewer): Promise<void>;
}

const TOKEN_TTL_S = 60;

export function filesDriveProvisioner(files: TRPCClient<FilesRouter>, tokens: TokenSigner): DriveProvisioner {
  return {
    async provision(person) {
      const outer = currentContext();
      const accessToken = await tokens.signAccess(person, TOKEN_TTL_S);
      // A context of its own: registration is anonymous, this call is the new person's (and their
      // write marks them as a recent writer, so their next reads see it on a replicated database).
      await runWithContext({ ...outer, requestId: outer?.requestId ?? newRequestId(), viewer: person, accessToken }, () =>
        files.provisionDrive.mutate(),
      );
    },
  };
}
