// The sandbox's example app: the RateApp Structured Streaming workload, spark-submitted on the worker's own host
// (`host: local`) through the local YARN's edge-node wrapper. Written at every `kappa dev` start rather than
// checked in: the wrapper and the app's jar live in this machine's cache, so every path in it is machine-specific.
// The file it is written to is an ordinary app config (`kappa deploy` takes it while the sandbox runs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AppConfig, AppConfigInput } from '../config/app-config.js';
import { loadAppFile } from '../config/load.js';
import type { LocalYarn } from './local-yarn.js';

export const SANDBOX_APP = 'rate-stream';
const YARN_NAME = 'Kappa Rate Stream';

export function sandboxAppConfig(yarn: LocalYarn): AppConfigInput {
  return {
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: SANDBOX_APP, labels: { sandbox: 'kappa-dev' } },
    spec: {
      // The seed's interval; an app killed by hand is back within about half a minute.
      yarn: { host: 'local', appName: YARN_NAME, pollInterval: '10s', onExisting: 'kill' },
      // Room to kill it by hand many times; a short first wait so the restart is seen soon.
      restartPolicy: {
        maxRestarts: 20,
        backoff: { initial: '5s', factor: 1.5, max: '1m' },
        resetAfter: '5m',
      },
      steps: [
        {
          name: 'spark-submit',
          ssh: {
            host: 'local',
            command: [join(yarn.binDir('fast'), 'spark-submit'), ...yarn.streamingSubmitArgs(YARN_NAME)],
            // spark-submit is a short-lived client JVM: without C2 and its compiler threads it submits in a
            // third of the time on a small machine (as the local YARN's `yarn` client does).
            env: { SPARK_SUBMIT_OPTS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' },
            timeout: '5m',
          },
        },
      ],
    },
  };
}

/** Writes the example app to `file` and loads it back as `kappa deploy` would: the same checks apply. */
export function writeSandboxApp(yarn: LocalYarn, file: string): AppConfig {
  const header = [
    "# The `kappa dev` sandbox's example app, written at each start by src/sandbox/sandbox-app.ts: a Spark",
    '# Structured Streaming app (RateApp) submitted on the local YARN through its edge-node wrapper.',
  ];
  writeFileSync(file, `${header.join('\n')}\n${stringify(sandboxAppConfig(yarn), { lineWidth: 0 })}`);
  return loadAppFile(file).config;
}

export const sandboxAppFile = (dir: string) => join(dir, `${SANDBOX_APP}.yaml`);
