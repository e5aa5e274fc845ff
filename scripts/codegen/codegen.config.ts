/**
 * GraphQL Code Generator configuration: every TypeScript type of the GraphQL contract comes from
 * schema.graphql (and the client operations' .graphql files) through these outputs. `npm run
 * codegen` writes them; `npm run codegen:check` fails when a committed one differs.
 */
import * as operationsPlugin from '@graphql-codegen/typescript-operations';
import * as resolversPlugin from '@graphql-codegen/typescript-resolvers';
import * as typescriptPlugin from '@graphql-codegen/typescript';
import { documentStringsPlugin } from './document-strings.plugin.ts';

export const SCHEMA = 'schema.graphql';

/** The one upload-session shape the web app and the CLI ask for (fragment UploadSession). */
const SHARED_FRAGMENTS = ['schema/fragments/upload-session.graphql'];

export const PLUGINS = {
  typescript: typescriptPlugin,
  'typescript-resolvers': resolversPlugin,
  'typescript-operations': operationsPlugin,
  'document-strings': { plugin: documentStringsPlugin },
};
export type PluginName = keyof typeof PLUGINS;

export interface OutputConfig {
  /** Repository-relative path of the generated file. */
  file: string;
  /** Repository-relative .graphql files (operations and fragments) the output types. */
  documents: string[];
  plugins: PluginName[];
  config: Record<string, unknown>;
}

const mapper = (type: string) => `./mappers.ts#${type}`;

/** Client outputs: enums as `as const` objects (values at run time, union types), wire scalars. */
const clientConfig = (uploadType: string) => ({
  enumsAsConst: true,
  onlyOperationTypes: true,
  useTypeImports: true,
  avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
  scalars: { DateTime: 'string', Size: 'number', Upload: uploadType, ID: 'string' },
  dedupeFragments: true,
  skipTypename: true,
});

export const OUTPUTS: OutputConfig[] = [
  {
    file: 'api/graphql/resolvers.generated.ts',
    documents: [],
    plugins: ['typescript', 'typescript-resolvers'],
    config: {
      useTypeImports: true,
      enumsAsTypes: true,
      contextType: './context.ts#GraphQLContext',
      scalars: {
        ID: 'string',
        DateTime: { input: 'Date', output: 'Date | string' },
        Size: 'number',
        Upload: { input: mapper('UploadScalar'), output: 'never' },
      },
      // The services keep lower-case values; GraphQL shows upper case. This is the one mapping.
      enumValues: {
        BackendState: { ACTIVE: 'active', DRAINING: 'draining', READONLY: 'readonly' },
        TransferMode: { MOVE: 'move', COPY: 'copy' },
      },
      mappers: {
        User: mapper('UserParent'),
        AuthPayload: mapper('AuthPayloadParent'),
        File: mapper('FileParent'),
        Quota: mapper('QuotaParent'),
        UploadSession: mapper('UploadSessionParent'),
        UploadProgress: mapper('UploadProgressParent'),
        Share: mapper('ShareParent'),
        PublicShare: mapper('PublicShareParent'),
        SharedFile: mapper('SharedFileParent'),
        StorageBackend: mapper('StorageBackendParent'),
        TransferJob: mapper('TransferJobParent'),
        UploadLink: mapper('UploadLinkParent'),
        ActivityEvent: mapper('ActivityEventParent'),
      },
    },
  },
  {
    file: 'web/src/graphql.generated.ts',
    documents: [...SHARED_FRAGMENTS, 'web/src/operations.graphql'],
    plugins: ['typescript-operations', 'document-strings'],
    config: clientConfig('File'),
  },
  {
    file: 'cli/lib/graphql.generated.ts',
    documents: [...SHARED_FRAGMENTS, 'cli/lib/operations.graphql'],
    plugins: ['typescript-operations', 'document-strings'],
    config: clientConfig('unknown'),
  },
];
