/**
 * Unlock tokens of password shares are bound to the password they proved: the token carries `pw`,
 * a prefix of the SHA-256 of the share's stored password hash. Changing the password (even to the
 * same one: the hash has a new salt) or removing it changes the binding, so every unlock token
 * handed out before stops working at once, though it has not expired.
 */
import { createHash } from 'node:crypto';

export function passwordBinding(passwordHash: string | null): string {
  return passwordHash ? createHash('sha256').update(passwordHash).digest('base64url').slice(0, 16) : '';
}
