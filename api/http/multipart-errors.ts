/**
 * The one place where whatever goes wrong with a GraphQL multipart request body becomes an
 * AppError: our own checks of the spec (jaydenseric/graphql-multipart-request-spec), the parser's
 * errors (busboy) and a body stream that fails or stops. Every refusal is BAD_INPUT, or
 * PAYLOAD_TOO_LARGE for a part over its limit, with a stable `details.reason` (README, Uploads).
 */
import { AppError, type ErrorCode } from '../../internal/platform/errors.ts';

export type MultipartReason =
  | 'csrf'
  | 'content_type'
  | 'boundary_missing'
  | 'boundary_mismatch'
  | 'multipart_malformed'
  | 'body_incomplete'
  | 'operations_missing'
  | 'operations_invalid'
  | 'map_missing'
  | 'map_invalid'
  | 'map_path_invalid'
  | 'map_not_upload'
  | 'field_unexpected'
  | 'field_too_large'
  | 'too_many_files'
  | 'file_missing'
  | 'file_duplicate'
  | 'file_unexpected'
  | 'file_too_large';

const TOO_LARGE: ReadonlySet<MultipartReason> = new Set(['field_too_large', 'file_too_large']);

const MESSAGES: Record<MultipartReason, string> = {
  csrf: 'Multipart requests need the header apollo-require-preflight: true',
  content_type: 'GraphQL multipart requests are multipart/form-data',
  boundary_missing: 'The multipart/form-data Content-Type has no boundary',
  boundary_mismatch: 'The body holds no part delimited by the boundary of its Content-Type',
  multipart_malformed: 'Malformed multipart body',
  body_incomplete: 'The multipart body ended before its closing delimiter',
  operations_missing: "The first part must be the 'operations' field",
  operations_invalid: "The 'operations' field must be one GraphQL request as a JSON object (batching is off)",
  map_missing: "The 'map' field must follow 'operations'",
  map_invalid: "The 'map' field must be a JSON object of arrays of paths",
  map_path_invalid: "A 'map' path must lead to a null value under 'variables' in 'operations'",
  map_not_upload: "A 'map' path must point at a variable of type Upload",
  field_unexpected: "Only the 'operations' and 'map' fields come before the files",
  field_too_large: 'A multipart field is over its size limit',
  too_many_files: 'This request takes fewer files than the map names',
  file_missing: "A file named in 'map' is not in the body",
  file_duplicate: 'The same file part was sent twice',
  file_unexpected: "A file part that 'map' does not name",
  file_too_large: 'A file is over its size limit',
};

export function multipartError(reason: MultipartReason, extra: { message?: string; details?: Record<string, unknown>; cause?: unknown } = {}): AppError {
  const code: ErrorCode = TOO_LARGE.has(reason) ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT';
  return new AppError(code, extra.message ?? MESSAGES[reason], { details: { reason, ...extra.details }, cause: extra.cause });
}

/**
 * An error of the parser or of the request stream. `sawPart`: whether any part was found, which
 * tells a boundary that matches nothing from a body cut short. AppErrors pass unchanged.
 */
export function fromParserError(error: unknown, sawPart: boolean): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^Unexpected end of (form|file)/.test(message)) return multipartError(sawPart ? 'body_incomplete' : 'boundary_mismatch', { cause: error });
  if (/Boundary not found/.test(message)) return multipartError('boundary_missing', { cause: error });
  if (/content type/i.test(message)) return multipartError('content_type', { cause: error });
  return multipartError('multipart_malformed', { cause: error });
}

/** Whether an error is this file's refusal of the body as a whole (not a refusal of one of its files). */
export function isMultipartError(error: unknown): boolean {
  const reason = AppError.is(error) ? error.details?.reason : undefined;
  return reason !== undefined && Object.hasOwn(MESSAGES, reason);
}
