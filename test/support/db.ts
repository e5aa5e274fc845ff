/** A fresh MariaDB database per test file (dropped afterwards), or a fresh SQLite file. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { DatabaseOptions } from '../../internal/platform/db/orm.ts';
import { testEnv } from './env.ts';

export interface TestDatabase {
  options: DatabaseOptions;
  url?: string;
  drop(): Promise<void>;
}

export async function createMysqlDatabase(prefix = 't'): Promise<TestDatabase> {
  const name = `stratus_${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = await createConnection(testEnv.databaseUrl);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  return {
    options: { kind: 'mysql', url: url.toString(), replicaUrls: [] },
    url: url.toString(),
    drop: async () => {
      const conn = await createConnection(testEnv.databaseUrl);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

export function createSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), 'stratus-sqlite-'));
  return { options: { kind: 'sqlite', file: path.join(dir, 'test.sqlite') }, drop: async () => undefined };
}

export function tempDir(prefix = 'stratus-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
