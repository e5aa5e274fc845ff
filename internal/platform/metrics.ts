/** Prometheus metrics of this process (prom-client), one registry served at /metrics. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stratus_' });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'stratus_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [registry],
    }),
    /** Password checks (scrypt runs) of sign-ins, known names and unknown: the CPU the limits bound. */
    signInPasswordChecks: new Counter({
      name: 'stratus_sign_in_password_checks_total',
      help: 'Password checks (scrypt) run by sign-ins',
      registers: [registry],
    }),
    graphqlErrors: new Counter({
      name: 'stratus_graphql_errors_total',
      help: 'GraphQL errors by code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
