/** The account password rule; hashing itself lives in platform/auth/password-hash.ts. */
import { AppError } from '../platform/errors.ts';

export { hashPassword, verifyPassword } from '../platform/auth/password-hash.ts';

const COMMON = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwerty123',
  'qwertyuiop', 'iloveyou1', 'letmein123', 'welcome123', 'admin12345', '11111111', 'abc12345',
]);

/**
 * The password rule, documented in the README: 10 to 128 characters, at least one letter and one
 * character that is not a letter, not a well-known password, and not containing the username or
 * the e-mail's local part.
 */
export function assertStrongPassword(password: string, username: string, email: string): void {
  const reasons: string[] = [];
  if (password.length < 10) reasons.push('at least 10 characters');
  if (password.length > 128) reasons.push('at most 128 characters');
  if (!/\p{L}/u.test(password) || !/[^\p{L}]/u.test(password)) reasons.push('a letter and a digit or symbol');
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) reasons.push('not a well-known password');
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if ((username.length >= 3 && lower.includes(username.toLowerCase())) || (local.length >= 3 && lower.includes(local))) {
    reasons.push('not containing your username or e-mail');
  }
  if (reasons.length > 0) {
    throw new AppError('BAD_INPUT', `Password too weak: it needs ${reasons.join(', ')}`, {
      details: { field: 'password', reason: 'weak_password' },
    });
  }
}
