/**
 * The one enum mapping of the resolvers: the services' lower-case BackendState and TransferMode
 * values reach clients as schema.graphql's upper-case enum values (no service needed).
 */
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../context.ts';
import { buildSchema } from '../schema.ts';

const backend = { name: 'ceph-1', type: 'ceph', state: 'draining', isDefault: false, stagingFor: null, objectCount: 2, bytes: 10 };
const job = { id: 'j1', blobId: 'b1', from: 'ceph-1', to: 'local', mode: 'copy', status: 'DONE', attempts: 1, lastError: null, bytes: 10, updatedAt: new Date(0).toISOString() };

const ctx = {
  viewer: { userId: 'u1', username: 'admin', isAdmin: true },
  clients: {
    transfer: {
      backends: { query: () => Promise.resolve([backend]) },
      list: { query: () => Promise.resolve({ counts: { QUEUED: 0, RUNNING: 0, DONE: 1, FAILED: 0 }, jobs: [job] }) },
    },
  },
} as unknown as GraphQLContext;

describe('transfer resolvers: enum values', () => {
  it('answers BackendState and TransferMode in upper case', async () => {
    const result = await execute({
      schema: buildSchema(),
      document: parse('{ storageBackends { name state } transfers { counts { done } jobs { id mode status } } }'),
      contextValue: ctx,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      storageBackends: [{ name: 'ceph-1', state: 'DRAINING' }],
      transfers: { counts: { done: 1 }, jobs: [{ id: 'j1', mode: 'COPY', status: 'DONE' }] },
    });
  });
});
