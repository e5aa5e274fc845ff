/**
 * The S3 error vocabulary that S3/RGW, OSS and COS share, mapped to the contract's codes and
 * reasons. Each driver still reads its own SDK's error shape and adds its own details.
 */
import type { ErrorCode, ErrorReason } from '../../platform/errors.ts';

/** Vendor error code -> contract reason, for the requests all three backends refuse as invalid. */
export const VENDOR_BAD_INPUT_REASONS: Readonly<Record<string, ErrorReason>> = {
  EntityTooSmall: 'part-too-small',
  EntityTooLarge: 'too-large',
  InvalidPart: 'invalid-part',
  InvalidPartOrder: 'part-order',
  InvalidRange: 'range-not-satisfiable',
  InvalidArgument: 'invalid-argument',
  MalformedXML: 'malformed-request',
  BadDigest: 'digest-mismatch',
  IncompleteBody: 'size-mismatch',
};

/**
 * OSS and COS failure classes: no HTTP status (`undefined`: the request never got an answer) is
 * 'backend_unreachable'; 5xx and 429 'backend_error'; 401/403 mean the backend refuses this
 * store's credentials (or clock), which an operator must fix, so UNAVAILABLE rather than the
 * user's FORBIDDEN; 404 is NOT_FOUND except for a missing bucket (misconfiguration).
 */
export function classifyHttpFailure(
  status: number | undefined,
  vendorCode: string,
  badInputReasons: Readonly<Record<string, ErrorReason>> = VENDOR_BAD_INPUT_REASONS,
): { code: ErrorCode; reason: ErrorReason } {
  if (status === undefined) return { code: 'UNAVAILABLE', reason: 'backend_unreachable' };
  if (status >= 500 || status === 429) return { code: 'UNAVAILABLE', reason: 'backend_error' };
  if (status === 401 || status === 403) return { code: 'UNAVAILABLE', reason: vendorCode === 'RequestTimeTooSkewed' ? 'clock_skew' : 'backend_auth' };
  if (status === 404) {
    if (vendorCode === 'NoSuchBucket') return { code: 'UNAVAILABLE', reason: 'no_such_bucket' };
    return { code: 'NOT_FOUND', reason: vendorCode === 'NoSuchUpload' ? 'no-such-upload' : 'no-such-key' };
  }
  if (status === 416) return { code: 'BAD_INPUT', reason: 'range-not-satisfiable' };
  return { code: 'BAD_INPUT', reason: badInputReasons[vendorCode] ?? 'refused' };
}
