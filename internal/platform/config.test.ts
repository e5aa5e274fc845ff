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
      AMQP_URL: 'amqp://guest:guest@mq:5672',
      SERVICE_DISCOVERY: 'k8s',
      PORT: '9000',
    });
    expect(config.database).toEqual({ kind: 'mysql', url: 'mysql://root@db:3306/stratus', replicaUrls: ['mysql://r1:3306/stratus', 'mysql://r2:3306/stratus'] });
    expect(config.http.port).toBe(9000);
    expect(config.discovery.mode).toBe('k8s');
  });

  it('stops on bad values, naming every bad variable', () => {
    const attempt = () =>
      loadConfig({ DATA_DIR: tempDir(), PORT: 'eighty', DATABASE_URL: 'postgres://x', SERVICE_DISCOVERY: 'consul', JWT_SECRET: 'short' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      for (const name of ['PORT', 'DATABASE_URL', 'SERVICE_DISCOVERY', 'JWT_SECRET']) expect(message).toContain(name);
    }
  });

  it('TRANSFER_MAX_DELIVERIES: 5 by default, a whole number from 1 to 50', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).transfer.maxDeliveries).toBe(5);
    expect(loadConfig({ DATA_DIR: tempDir(), TRANSFER_MAX_DELIVERIES: '2' }).transfer.maxDeliveries).toBe(2);
    for (const bad of ['0', '51', '2.5', 'many']) {
      expect(() => loadConfig({ DATA_DIR: tempDir(), TRANSFER_MAX_DELIVERIES: bad })).toThrow(/TRANSFER_MAX_DELIVERIES/);
    }
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
  });
});
