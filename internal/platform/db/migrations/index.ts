/**
 * Migrations, one list per dialect, generated from the same entities by `npm run migration:create`
 * (MariaDB/MySQL and SQLite SQL differ, so each dialect keeps its own files).
 */
import type { MigrationObject } from '@mikro-orm/core';
import { migrations as mysql } from './mysql/index.ts';
import { migrations as sqlite } from './sqlite/index.ts';

export type Dialect = 'mysql' | 'sqlite';

export function migrationsFor(dialect: Dialect): MigrationObject[] {
  switch (dialect) {
    case 'mysql':
      return mysql;
    case 'sqlite':
      return sqlite;
  }
}
