/**
 * Migrations, one list per dialect, generated from the same entities by `npm run migration:create`
 * (MariaDB/MySQL and SQLite SQL differ, so each dialect keeps its own files).
 */
import type { MigrationObject } from '@mikro-orm/core';
import { migrations as mysql } from './mysql/index.ts';
import { migrations as sqlite } from './sqlite/index.ts';
import { BUILT_IN_MIGRATION_SETTINGS, type MigrationSettings } from './settings.ts';

export type Dialect = 'mysql' | 'sqlite';
export type { MigrationSettings } from './settings.ts';

type Configurable = MigrationObject['class'] & { configure(settings: MigrationSettings): MigrationObject['class'] };
const configurable = (c: MigrationObject['class']): c is Configurable => typeof (c as Partial<Configurable>).configure === 'function';

/** The dialect's migrations, oldest first; data migrations get the settings they need. */
export function migrationsFor(dialect: Dialect, settings: MigrationSettings = BUILT_IN_MIGRATION_SETTINGS): MigrationObject[] {
  const list = dialect === 'mysql' ? mysql : sqlite;
  return list.map((m) => (configurable(m.class) ? { name: m.name, class: m.class.configure(settings) } : m));
}
