// Observability for a worker process: JSON logs (pino) and a Prometheus endpoint with the Temporal SDK's metrics
// and Kappa's own. Installed once per process, before any Temporal connection.
import { createServer } from 'node:net';
import { Runtime, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import pino from 'pino';
import { Metric, POLL_SECONDS_BUCKETS } from './common/metric-names.js';
import type { ConfigIssue } from './config/issues.js';
import type { WorkerConfig } from './config/worker-config.js';

/** The Temporal logger interface on pino: one JSON object per line, with the SDK's fields (workflowId, …). */
export function pinoLogger(level: string = process.env.KAPPA_LOG_LEVEL ?? 'info'): Logger {
  const log = pino({ level, base: { service: 'kappa-worker' }, timestamp: pino.stdTimeFunctions.isoTime });
  const write = (lvl: LogLevel, message: string, meta?: LogMetadata) => {
    const method =
      lvl === 'TRACE'
        ? 'trace'
        : lvl === 'DEBUG'
          ? 'debug'
          : lvl === 'WARN'
            ? 'warn'
            : lvl === 'ERROR'
              ? 'error'
              : 'info';
    log[method](meta ? withErrorsSpelledOut(meta) : {}, message);
  };
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

/**
 * The SDK logs activity and workflow failures as `{ error: Error }`, which JSON turns into `{"name":…}` alone: the
 * message, the failure type and the causes are what an operator needs, so they are written out.
 */
export function withErrorsSpelledOut(meta: LogMetadata): LogMetadata {
  const out: LogMetadata = {};
  for (const [key, value] of Object.entries(meta) as [string, unknown][]) {
    out[key] = value instanceof Error ? spelledOut(value) : value;
  }
  return out;
}

function spelledOut(err: Error, depth = 0): Record<string, unknown> {
  const { type, nonRetryable } = err as Error & { type?: unknown; nonRetryable?: unknown };
  return {
    name: err.name,
    message: err.message,
    ...(typeof type === 'string' ? { type } : {}),
    ...(nonRetryable === true ? { nonRetryable } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
    ...(err.cause instanceof Error && depth < 5 ? { cause: spelledOut(err.cause, depth + 1) } : {}),
  };
}

type MetricsConfig = WorkerConfig['metrics'];

/** `host:port` as a socket address: IPv6 in brackets. */
function socketAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where the metrics are served, for people: `:9464` on every interface, else `127.0.0.1:9464`; undefined when off. */
export function metricsAddress({ port, bindAddress }: MetricsConfig): string | undefined {
  if (port === 0) return undefined;
  return bindAddress === '0.0.0.0' ? `:${port}` : socketAddress(bindAddress, port);
}

/**
 * Why the metrics endpoint could not listen, as a problem with the worker config, or undefined when it can. Tried
 * by listening and closing at once: the SDK's own error ("Failed to start prometheus metrics exporter") names
 * neither the port nor the setting.
 */
export async function metricsProblem(metrics: MetricsConfig): Promise<ConfigIssue | undefined> {
  if (metrics.port === 0) return undefined;
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen({ host: metrics.bindAddress, port: metrics.port, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
  return err && metricsIssue(metrics, err);
}

/** A failure to listen on the metrics port, in the worker config's terms. */
function metricsIssue({ port, bindAddress }: MetricsConfig, err: NodeJS.ErrnoException): ConfigIssue {
  switch (err.code) {
    case 'EADDRINUSE':
      return {
        path: ['metrics', 'port'],
        message: `${port} is in use on ${bindAddress} (another kappa worker?); give each worker on a host its own metrics.port, or set it to 0 to turn metrics off`,
      };
    case 'EACCES':
      return {
        path: ['metrics', 'port'],
        message: `${port} on ${bindAddress}: permission denied (ports below 1024 need privileges); choose a port from 1024 up`,
      };
    case 'EADDRNOTAVAIL':
      return { path: ['metrics', 'bindAddress'], message: `${bindAddress} is not an address of this host` };
    default:
      return {
        path: ['metrics', 'port'],
        message: `cannot listen on ${socketAddress(bindAddress, port)}: ${err.message}`,
      };
  }
}

/**
 * JSON logs and, unless `metrics.port` is 0, Prometheus metrics on `metrics.bindAddress`. Returns a problem with
 * the worker config when the metrics endpoint cannot start (a port taken since metricsProblem looked).
 */
export function installRuntime(metrics: MetricsConfig): ConfigIssue | undefined {
  try {
    Runtime.install({
      logger: pinoLogger(),
      ...(metrics.port > 0
        ? {
            telemetryOptions: {
              metrics: {
                prometheus: {
                  bindAddress: socketAddress(metrics.bindAddress, metrics.port),
                  // The SDK's default buckets are milliseconds; this histogram is in seconds.
                  histogramBucketOverrides: { [Metric.pollSeconds]: [...POLL_SECONDS_BUCKETS] },
                },
              },
            },
          }
        : {}),
    });
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (metrics.port === 0 || !/metrics exporter/i.test(message)) throw err;
    const code = /in use/i.test(message) ? 'EADDRINUSE' : undefined;
    return metricsIssue(metrics, Object.assign(new Error(message), { code }));
  }
}

/** Records each `yarn application -list` on the runtime's meter. */
export function pollRecorder(): (host: string, seconds: number, ok: boolean) => void {
  const histogram = Runtime.instance().metricMeter.createHistogram(
    Metric.pollSeconds,
    'float',
    's',
    'Duration of one `yarn application -list` on an edge node (one per host per poll interval)',
  );
  return (host, seconds, ok) => histogram.record(seconds, { host, outcome: ok ? 'ok' : 'error' });
}
