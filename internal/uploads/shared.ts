/**
 * What the uploads service shares with its clients (the CLI): the limits they size their requests
 * by, no I/O. Apart from index.ts, which builds the service and so loads the ORM and the storage
 * SDKs (seconds of start-up a CLI command must not pay).
 */
export { MAX_BLOCK_HASHES, MAX_CHUNK_SIZE, PROOF_RANGES } from './upload-plan.rules.ts';
