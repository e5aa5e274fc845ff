/** The search as a tRPC procedure (`files.search`): parse with zod, call the service. */
import { z } from 'zod';
import { authedProcedure } from '../../platform/rpc/trpc.ts';
import type { SearchService } from './search.service.ts';

// Wide bounds on purpose: the service refuses too long a query and a bad `first` with stable
// reasons (search_query_too_long, page_size); zod only keeps absurd payloads out.
const SearchInput = z.object({
  query: z.string().max(100_000),
  first: z.number().int().default(50),
  after: z.string().max(1024).optional(),
  filter: z
    .object({
      mimeTypePrefix: z.string().max(255).optional(),
      modifiedAfter: z.coerce.date().optional(),
      minSize: z.number().int().min(0).optional(),
      maxSize: z.number().int().min(0).optional(),
      foldersOnly: z.boolean().optional(),
    })
    .optional(),
});

export function searchProcedure(search: SearchService) {
  return authedProcedure.input(SearchInput).query(({ ctx, input }) => search.search(ctx.viewer, input));
}
