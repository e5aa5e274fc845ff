/**
 * The public surface of `internal/storage`. Services reach stores through a StorageRouter (built
 * from the routing file, or `defaultRoutingConfig` when there is none) rather than constructing
 * drivers themselves, so every store in the process follows the live config.
 */
export type {
  ByteRange,
  GetOptions,
  GetResult,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectStore,
  PartInfo,
  PresignOptions,
  PutOptions,
  StoreCapabilities,
  StoreType,
  TakenConnection,
} from './object-store.ts';
export {
  BACKEND_NAME_PATTERN,
  BACKEND_STATES,
  defaultRoutingConfig,
  parseRoutingConfig,
  type BackendConfig,
  type BackendState,
  type CephBackendConfig,
  type CosBackendConfig,
  type LocalBackendConfig,
  type OssBackendConfig,
  type ParseRoutingOptions,
  type RoutingConfig,
  type RoutingIssue,
} from './routing/routing-config.ts';
export { createStore } from './routing/store-factory.ts';
export {
  StorageRouter,
  type BackendSummary,
  type DownloadMode,
  type FromFileOptions,
  type RoutingChangeListener,
  type StorageRouterOptions,
} from './routing/storage-router.ts';
export { contentDisposition } from './support/content-disposition.ts';
