import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { tempDir } from '../../test/support/db.ts';

describe('config', () => {
  it('defaults to the embedded stack', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config.http.port).toBe(8080);
    expect(config.database).toEqual({ kind: 'sqlite', file: `${dir}/stratus.sqlite` });
    expect(config.redisUrl).toBeUndefined();
    expect(config.discovery.mode).toBe('inprocess');
    // The development JWT secret is generated once and reused.
    expect(loadConfig({ DATA_DIR: dir }).jwtSecret).toEqual(config.jwtSecret);
  });

  it('takes each real dependency from its variable', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      DATABASE_URL: 'mysql://root@db:3306/stratus',
      DATABASE_REPLICA_URLS: 'mysql://r1:3306/stratus, mysql://r2:3306/stratus',
      REDIS_URL: 'redis://redis:6379',
      REDIS_KEY_PREFIX: 'stratus-eu:',
      AMQP_URL: 'amqp://guest:guest@mq:5672',
      SERVICE_DISCOVERY: 'k8s',
      PORT: '9000',
    });
    expect(config.database).toEqual({ kind: 'mysql', url: 'mysql://root@db:3306/stratus', replicaUrls: ['mysql://r1:3306/stratus', 'mysql://r2:3306/stratus'] });
    expect(config.http.port).toBe(9000);
    expect(config.discovery.mode).toBe('k8s');
    expect(config.redisKeyPrefix).toBe('stratus-eu:');
    expect(loadConfig({ DATA_DIR: tempDir() }).redisKeyPrefix).toBe('');
  });

  it('stops on bad values, naming every bad variable', () => {
    const attempt = () =>
      loadConfig({ DATA_DIR: tempDir(), PORT: 'eighty', DATABASE_URL: 'postgres://x', SERVICE_DISCOVERY: 'consul', JWT_SECRET: 'short', REDIS_KEY_PREFIX: 'a b*' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      for (const name of ['PORT', 'DATABASE_URL', 'SERVICE_DISCOVERY', 'JWT_SECRET', 'REDIS_KEY_PREFIX']) expect(message).toContain(name);
    }
  });

  it('TRANSFER_MAX_DELIVERIES: 5 by default, a whole number from 1 to 50', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).transfer.maxDeliveries).toBe(5);
    expect(loadConfig({ DATA_DIR: tempDir(), TRANSFER_MAX_DELIVERIES: '2' }).transfer.maxDeliveries).toBe(2);
    for (const bad of ['0', '51', '2.5', 'many']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), TRANSFER_MAX_DELIVERIES: bad })).toThrow(/TRANSFER_MAX_DELIVERIES/);
    }
  });

  it('TRUSTED_PROXIES: none by default; a comma list of addresses and CIDR blocks; anything else refused', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).trustedProxies).toEqual([]);
    expect(loadConfig({ DATA_DIR: tempDir(), TRUSTED_PROXIES: ' 10.0.0.0/8, 127.0.0.1 ,fd00::/8,::1/128' }).trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1/128']);
    for (const bad of ['loopback', '10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/8/1', '1.2.3.4/x']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), TRUSTED_PROXIES: bad }), bad).toThrow(/TRUSTED_PROXIES/);
    }
  });

  it('per-client limits: documented defaults, whole numbers of at least 1', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).clientLimits).toEqual({ signInAttemptsPerMinute: 20, signInFailuresPerClient: 10, emailCodesPerHour: 20, dropUploadsPerMinute: 60, dropUnlockFailures: 10 });
    expect(loadConfig({ DATA_DIR: tempDir(), DROP_UPLOADS_PER_CLIENT_MINUTE: '7' }).clientLimits.dropUploadsPerMinute).toBe(7);
    expect(loadConfig({ DATA_DIR: tempDir(), EMAIL_CODES_PER_CLIENT_HOUR: '5' }).clientLimits.emailCodesPerHour).toBe(5);
    for (const bad of ['0', '1.5', 'lots']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), SIGNIN_FAILURES_PER_CLIENT: bad })).toThrow(/SIGNIN_FAILURES_PER_CLIENT/);
      expect(() => loadConfig({ DATA_DIR: tempDir(), DROP_UNLOCK_FAILURES_PER_CLIENT: bad })).toThrow(/DROP_UNLOCK_FAILURES_PER_CLIENT/);
    }
  });

  it('version retention: keep 10 and no age limit by default; whole numbers, 0 allowed', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).versions).toEqual({ keep: 10, maxAgeDays: 0 });
    expect(loadConfig({ DATA_DIR: tempDir(), VERSIONS_KEEP: '2', VERSIONS_MAX_AGE_DAYS: '30' }).versions).toEqual({ keep: 2, maxAgeDays: 30 });
    expect(() => loadConfig({ DATA_DIR: tempDir(), VERSIONS_KEEP: '101' })).toThrow(/VERSIONS_KEEP/);
    for (const bad of ['-1', '1.5', 'many']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), VERSIONS_KEEP: bad })).toThrow(/VERSIONS_KEEP/);
      expect(() => loadConfig({ DATA_DIR: tempDir(), VERSIONS_MAX_AGE_DAYS: bad })).toThrow(/VERSIONS_MAX_AGE_DAYS/);
    }
  });

  it('activity retention: 90 days by default; whole days of at least 1', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).activityRetentionDays).toBe(90);
    expect(loadConfig({ DATA_DIR: tempDir(), ACTIVITY_RETENTION_DAYS: '7' }).activityRetentionDays).toBe(7);
    for (const bad of ['0', '-3', '1.5', 'forever']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), ACTIVITY_RETENTION_DAYS: bad })).toThrow(/ACTIVITY_RETENTION_DAYS/);
    }
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
  });
});
