/**
 * Per-request DataLoaders: the File lookups of one GraphQL request (parents of 200 listed files,
 * say) become one batched service call instead of one per field.
 */
import DataLoader from 'dataloader';
import type { FileDto } from '../../internal/files/index.ts';
import type { Clients } from '../clients.ts';

export interface Loaders {
  file: DataLoader<string, FileDto | null>;
}

export function createLoaders(clients: Clients): Loaders {
  return {
    file: new DataLoader<string, FileDto | null>((ids) => clients.files.getMany.query({ ids: [...ids] }), { maxBatchSize: 500 }),
  };
}
