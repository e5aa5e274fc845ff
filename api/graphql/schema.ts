/** The executable schema: schema.graphql (the contract) joined with the resolvers. */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accountsResolvers } from './resolvers/accounts.resolvers.ts';
import { accessTokensResolvers } from './resolvers/access-tokens.resolvers.ts';
import { DateTime, Size } from './resolvers/scalars.ts';
import { filesResolvers } from './resolvers/files.resolvers.ts';
import { uploadsResolvers } from './resolvers/uploads.resolvers.ts';
import { transferResolvers } from './resolvers/transfer.resolvers.ts';
import { sharesResolvers } from './resolvers/shares.resolvers.ts';
import { uploadLinksResolvers } from './resolvers/upload-links.resolvers.ts';
import { versionsResolvers } from './resolvers/versions.resolvers.ts';
import { activityResolvers } from './resolvers/activity.resolvers.ts';
import { searchResolvers } from './resolvers/search.resolvers.ts';
import { thumbnailsResolvers } from './resolvers/thumbnails.resolvers.ts';
import { GraphQLUpload } from 'graphql-upload-minimal';

const SDL_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema.graphql');

export function loadTypeDefs(): string {
  return readFileSync(SDL_PATH, 'utf8');
}

export function buildSchema() {
  return makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [{ DateTime, Size, Upload: GraphQLUpload }, accountsResolvers, accessTokensResolvers, filesResolvers, uploadsResolvers, sharesResolvers, uploadLinksResolvers, transferResolvers, versionsResolvers, searchResolvers, thumbnailsResolvers, activityResolvers],
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
