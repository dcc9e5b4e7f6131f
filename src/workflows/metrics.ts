// The app's event counters, on the worker's Prometheus endpoint. Replay-safe: emitted only when workflow code runs
// for real. Made on use: the meter belongs to the running workflow, not to module load. Gauges are not kept here:
// the workflow is idle between events, so a gauge it set would be gone after a worker restart; the supervision
// activity keeps them (src/activities/app-metrics.ts).
import { metricMeter } from '@temporalio/workflow';
import { Metric } from '../common/metric-names.js';

/** Other live instances of the app's YARN name found while it was supervised (`action`: killed | conflict). */
export function recordExtraInstances(app: string, count: number, action: string): void {
  metricMeter
    .createCounter(Metric.extraInstances, '', 'Other live instances of the app found by supervision')
    .add(count, { app, action });
}

export function recordRestart(app: string): void {
  metricMeter.createCounter(Metric.restarts, '', 'Automatic restarts of the app').add(1, { app });
}
