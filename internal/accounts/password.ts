/**
 * Password hashing with scrypt (node:crypto): `scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>`.
 * Parameters travel with the hash so they can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../platform/errors.ts';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const maxmem = 128 * R * 2 ** LOG_N * 2;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: 2 ** LOG_N, r: R, p: P, maxmem });
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length, {
    N: 2 ** Number(logN),
    r: Number(r),
    p: Number(p),
    maxmem: 128 * Number(r) * 2 ** Number(logN) * 2,
  });
  return timingSafeEqual(key, expected);
}

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
