// A pod step and a step context as the pod-step tests use them (double, real API server, pure judge).
import assert from 'node:assert/strict';
import type { PodStep } from '../../src/config/app-config.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import type { StepContext } from '../../src/ports.js';

export const POD_STEP_NAME = 'build-and-submit';

/** A validated pod step: spark-submit in main, a build init container, a sidecar; `extra` overrides. */
export function testPodStep(extra: Record<string, unknown> = {}): PodStep {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'app' },
    spec: {
      yarn: { host: 'local', appName: 'A' },
      steps: [
        {
          name: POD_STEP_NAME,
          pod: {
            image: 'spark-submit:3.5.1',
            command: ['spark-submit'],
            args: ['--conf', 'spark.yarn.submit.waitAppCompletion=false', '/artifacts/app.jar'],
            initContainers: [{ name: 'build', image: 'sbt:1.7' }],
            sidecars: [{ name: 'kinit', image: 'kinit:1.0' }],
            ...extra,
          },
        },
      ],
    },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  return result.config.spec.steps[0]!.pod!;
}

/**
 * A step context that records log lines and heartbeats; abort `controller` to cancel the step (with
 * `handingOver` true, as a stopping worker does).
 */
export function testStepContext(
  app: string,
  options: { runId?: string; attempt?: number; previousDetails?: unknown; handingOver?: boolean } = {},
) {
  const controller = new AbortController();
  const lines: string[] = [];
  const heartbeats: unknown[] = [];
  const ctx: StepContext = {
    app,
    workflowId: `kappa/${app}`,
    runId: options.runId ?? 'run-1',
    revision: 1,
    attempt: options.attempt ?? 1,
    stepName: POD_STEP_NAME,
    signal: controller.signal,
    heartbeat: (d) => heartbeats.push(d),
    handingOver: () => options.handingOver === true,
    previousDetails: options.previousDetails,
    log: (m) => lines.push(m),
  };
  return { ctx, controller, lines, heartbeats };
}
