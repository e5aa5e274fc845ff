/**
 * What each GraphQL object type's resolvers receive as their parent: the DTOs the gateway gets
 * from the internal services' tRPC procedures. Written as `inferRouterOutputs` of the routers, so
 * they follow the services (whatever their internals) and codegen (scripts/codegen) checks every
 * resolver against them and against schema.graphql. A type not named here is resolved from its
 * generated GraphQL shape.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { FileUpload } from 'graphql-upload-minimal';
import type { AccountsRouter } from '../../internal/accounts/index.ts';
import type { FilesRouter } from '../../internal/files/index.ts';
import type { TransferRouter } from '../../internal/transfer/index.ts';
import type { UploadsRouter } from '../../internal/uploads/index.ts';
import type { FileOrder } from './resolvers.generated.ts';

type Accounts = inferRouterOutputs<AccountsRouter>;
type Files = inferRouterOutputs<FilesRouter>;
type Uploads = inferRouterOutputs<UploadsRouter>;
type Transfer = inferRouterOutputs<TransferRouter>;

export type UserParent = Accounts['me'];
export type AuthPayloadParent = Accounts['login'];
export type FileParent = Files['get'];
export type QuotaParent = Files['quota'];
export type UploadSessionParent = Uploads['get'];
export type UploadProgressParent = Uploads['progress'];
export type ShareParent = Files['shares']['list'][number];
export type UploadLinkParent = Uploads['links']['list'][number];
export type StorageBackendParent = Transfer['backends'][number];
export type TransferJobParent = Transfer['list']['jobs'][number];
export type ActivityEventParent = Files['activity']['list']['edges'][number]['node'];

/** What a share link was opened with: nested fields of a public share ask the service again with it. */
export interface ShareKey {
  token: string;
  password?: string | null;
  unlockToken?: string | null;
}
export type PublicShareParent = Files['shares']['open'] & { key: ShareKey };
/** A file seen through a share: carries the key and the shared root so nested fields can ask again. */
export type SharedFileParent = FileParent & { key: ShareKey; rootId: string };

/** A file of a GraphQL multipart request, as graphql-upload-minimal hands it to a resolver. */
export type UploadScalar = Promise<FileUpload>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/**
 * The files service sorts by exactly schema.graphql's FileOrder (field and direction): a value
 * added on either side fails to compile here, so the order is defined once, in the schema.
 */
export type FileOrderIsTheSchemas = Assert<Same<NonNullable<inferRouterInputs<FilesRouter>['children']['orderBy']>, FileOrder>>;
