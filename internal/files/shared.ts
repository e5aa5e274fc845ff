/**
 * What the files service shares with its clients (the CLI): pure rules and constants, no I/O. Kept
 * apart from index.ts because index.ts builds the service and so loads the ORM and the storage
 * SDKs (seconds of start-up a CLI command must not pay); index.ts re-exports this file.
 */
export { BLOCK_SIZE, combineBlockDigests } from './content-hash.ts';
export { nameKey } from './names.ts';
