/**
 * Errors as people read them: the API's closed code union (and a few detail reasons) mapped to
 * sentences. Server messages are used only where they already speak to a person (BAD_INPUT).
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const BY_REASON: Record<string, string> = {
  name_taken: 'Something with that name is already in this folder. Pick another name.',
  bad_credentials: 'That username or password is not right.',
  login_failures: 'Too many failed sign-ins. Wait a few minutes, then try again.',
  code_invalid: 'That code is wrong or has expired. Ask for a new one.',
  code_send_interval: 'A code was sent less than a minute ago. Check your inbox, or wait a minute to ask again.',
  code_send_hourly: 'Too many codes were sent to this address. Try again in an hour.',
  weak_password: '',
  share_password: 'That password is not right.',
  share_password_required: 'This link is protected by a password.',
  share_password_attempts: 'Too many wrong passwords. Wait a while, then try again.',
  share_password_length: 'A share password needs 4 to 128 characters.',
  expiry_in_past: 'The expiry date must be in the future.',
  move_cycle: 'A folder cannot be moved into itself or into one of its own folders.',
  too_many_sessions: 'You have too many unfinished uploads. Finish or cancel some first.',
  content_hash_mismatch: 'The file changed while it was being uploaded. Choose it again to start over.',
  proof_attempts: 'Too many instant-upload attempts; the file will be sent normally.',
  max_downloads: 'This link has reached its download limit.',
  too_many_access_tokens: 'You have 50 access tokens, the most there can be. Revoke one you no longer use first.',
};

const BY_CODE: Record<string, string> = {
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'That item no longer exists, or the link is wrong.',
  CONFLICT: 'That clashes with something that already exists. Refresh and try again.',
  QUOTA_EXCEEDED: 'Your drive is full. Delete some files (and empty the trash) to make room.',
  PAYLOAD_TOO_LARGE: 'That file is too large for Stratus.',
  RATE_LIMITED: 'Too many attempts in a short time. Please wait a moment and try again.',
  UNAVAILABLE: 'Stratus is briefly unavailable. Please try again in a moment.',
  INTERNAL: 'Something went wrong on our side. Please try again.',
  NETWORK: 'Stratus cannot be reached. Check your connection and try again.',
};

/** A sentence for any error thrown by the app's API calls (or anything else). */
export function humanError(error: unknown): string {
  if (error instanceof ApiError) {
    const reason = typeof error.details.reason === 'string' ? error.details.reason : '';
    const byReason = BY_REASON[reason];
    if (byReason) return byReason;
    if (error.code === 'BAD_INPUT') return error.message.endsWith('.') ? error.message : `${error.message}.`;
    if (error.code === 'CONFLICT' && /already registered/.test(error.message)) return `${error.message}. Sign in instead, or use another.`;
    if (error.code === 'RATE_LIMITED' && error.retryAfter) {
      return `Too many attempts in a short time. Please try again in ${Math.ceil(error.retryAfter / 60)} minute(s).`;
    }
    return BY_CODE[error.code] ?? error.message;
  }
  if (error instanceof TypeError) return BY_CODE.NETWORK ?? 'Network error';
  return error instanceof Error ? error.message : String(error);
}
