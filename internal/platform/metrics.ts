/**
 * Prometheus metrics of this process (prom-client), one registry served at /metrics. Metric names
 * are a contract with the chart's alerts and the Grafana dashboard (README "Metrics"): renaming
 * one breaks them. Default process metrics carry no prefix (`process_cpu_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, …), the names stock dashboards query.
 *
 * Label values are bounded sets only: backends (the routing file's names), modes, outcomes, route
 * templates, tRPC procedures. Never an id, key, user or token.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerBuildInfo } from './build-info.ts';
import type { Fault } from './metrics-outcome.ts';

export type UploadOutcome = 'ok' | Fault;
export type DownloadMode = 'proxy' | 'redirect' | 'share';
export type DownloadOutcome = 'ok' | 'failed' | 'aborted';

/** What the upload byte paths record (chunk PUT, uploadFile, tus PATCH, WebDAV PUT) and completions. */
export interface UploadMeter {
  /** One stored part (a chunk, a one-request body, a tus part, a WebDAV PUT) and the bytes received for it. */
  part(backend: string, outcome: UploadOutcome, bytes: number): void;
  /** One upload that ended in a file, or was refused or failed at its end. */
  completion(outcome: UploadOutcome): void;
}

/** What the download handlers record: one download (GET with a body, or a redirect) and its bytes. */
export interface DownloadMeter {
  served(mode: DownloadMode, outcome: DownloadOutcome, bytes: number): void;
  /** Bytes of a proxied download moved from the store's socket to the client's inside the kernel. */
  spliced(bytes: number): void;
}

export interface MetricsOptions {
  /** The build's commit (STRATUS_COMMIT) for stratus_build_info. */
  commit?: string;
}

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerBuildInfo(registry, options.commit ?? 'unknown');
  return {
    registry,
    httpRequests: new Histogram({
      name: 'stratus_http_request_duration_seconds',
      help: 'HTTP requests by route template and status',
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
    /** Every object-store call, through the StoreCallObserver of storage/routing/store-metrics.observer.ts. */
    storeCalls: new Histogram({
      name: 'stratus_object_store_request_duration_seconds',
      help: 'Object-store calls by backend, operation and outcome (get: until its headers arrive)',
      labelNames: ['backend', 'operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    }),
    /** Every service call made through a tRPC client (rpc/metrics.link.ts), in process or over HTTP. */
    trpcClient: new Histogram({
      name: 'stratus_trpc_client_duration_seconds',
      help: 'tRPC calls made by this process, by procedure, transport and outcome',
      labelNames: ['procedure', 'transport', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    uploads: uploadMeter(registry),
    downloads: downloadMeter(registry),
  };
}

function uploadMeter(registry: Registry): UploadMeter {
  const chunks = new Counter({
    name: 'stratus_upload_chunks_total',
    help: 'Stored upload parts (chunk PUTs, one-request uploads, tus PATCH parts, WebDAV PUTs) by backend and outcome',
    labelNames: ['backend', 'outcome'],
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'stratus_upload_bytes_total',
    help: 'Bytes received for upload parts, by backend and outcome',
    labelNames: ['backend', 'outcome'],
    registers: [registry],
  });
  const completions = new Counter({
    name: 'stratus_upload_completions_total',
    help: 'Uploads ended: a file made (ok), refused for the client (rejected), or failed (failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    part(backend, outcome, received) {
      chunks.inc({ backend, outcome });
      if (received > 0) bytes.inc({ backend, outcome }, received);
    },
    completion(outcome) {
      completions.inc({ outcome });
    },
  };
}

function downloadMeter(registry: Registry): DownloadMeter {
  const downloads = new Counter({
    name: 'stratus_downloads_total',
    help: 'Downloads by mode (proxy, redirect, share) and outcome (ok, failed, aborted by the client)',
    labelNames: ['mode', 'outcome'],
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'stratus_download_bytes_total',
    help: 'Bytes sent by downloads; for redirects, the bytes handed to the presigned URL (the range length)',
    labelNames: ['mode'],
    registers: [registry],
  });
  const spliced = new Counter({
    name: 'stratus_download_spliced_bytes_total',
    help: 'Bytes of proxied downloads moved from the object store\'s socket to the client\'s inside the kernel (splice, DOWNLOAD_SPLICE); also counted in stratus_download_bytes_total',
    registers: [registry],
  });
  return {
    served(mode, outcome, sent) {
      downloads.inc({ mode, outcome });
      if (sent > 0) bytes.inc({ mode }, sent);
    },
    spliced(moved) {
      if (moved > 0) spliced.inc(moved);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
