/**
 * What data migrations need from the validated configuration. A migration whose SQL depends on it
 * has a static `configure(settings)` returning a subclass that carries them; `migrationsFor` calls
 * it. Migrations never read the environment themselves.
 */
export interface MigrationSettings {
  /** The limit of a backfilled quota row: DEFAULT_QUOTA_BYTES. */
  defaultQuotaBytes: number;
}

/** The defaults of config.ts, for callers that open the database without the service config. */
export const BUILT_IN_MIGRATION_SETTINGS: MigrationSettings = { defaultQuotaBytes: 10 * 1024 ** 3 };

/** A positive whole byte count, safe to write into SQL as a literal (migrations take no parameters). */
export function byteLiteral(value: number): string {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`not a byte count: ${value}`);
  return String(value);
}
