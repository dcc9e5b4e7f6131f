// The app's metrics, on the worker's Prometheus endpoint. Replay-safe: emitted only when workflow code runs for
// real. Made on use: the meter belongs to the running workflow, not to module load.
import { metricMeter } from '@temporalio/workflow';
import { Metric } from '../common/metric-names.js';
import { Phase } from '../common/phases.js';

export function recordPhase(app: string, phase: Phase): void {
  metricMeter
    .createGauge(Metric.appUp, 'int', '', '1 while the app runs on YARN, else 0')
    .set(phase === Phase.Running ? 1 : 0, { app });
}

/** Other live instances of the app's YARN name found while it was supervised (`action`: killed | conflict). */
export function recordExtraInstances(app: string, count: number, action: string): void {
  metricMeter
    .createCounter(Metric.extraInstances, '', 'Other live instances of the app found by supervision')
    .add(count, { app, action });
}

export function recordRestart(app: string): void {
  metricMeter.createCounter(Metric.restarts, '', 'Automatic restarts of the app').add(1, { app });
}
