// Observability for a worker process: JSON logs (pino) and a Prometheus endpoint with the Temporal SDK's metrics
// and Kappa's own. Installed once per process, before any Temporal connection.
import { Runtime, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import pino from 'pino';
import { Metric } from './common/metric-names.js';

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
    log[method](meta ?? {}, message);
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

/** JSON logs and, with a port, Prometheus metrics on 0.0.0.0:<port>/metrics. */
export function installRuntime(metricsPort: number): void {
  Runtime.install({
    logger: pinoLogger(),
    ...(metricsPort > 0
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } } }
      : {}),
  });
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
