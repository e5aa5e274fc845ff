/** The public surface of `internal/fsck`: the consistency check the `stratus fsck` command runs. */
export {
  DEFAULT_MULTIPART_GRACE_MS,
  FINDING_KINDS,
  FINDING_LABELS,
  formatReport,
  runFsck,
  type Finding,
  type FindingKind,
  type FsckDeps,
  type FsckOptions,
  type FsckReport,
} from './fsck.ts';
