// Installs the yarn/spark-submit double (yarn-double.cjs) in a directory and lets tests read and change its
// state the way the outside world would (an app killed by someone else, a ResourceManager going down). The apps
// are yarn-model.cjs's, read and changed through the same model the double uses.
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as model from './yarn-model.cjs';

const DOUBLE = join(__dirname, 'yarn-double.cjs');

export type DoubleApp = model.ModelApp;

/**
 * How the yarn client meets a ResourceManager it cannot reach (marker files the double looks for):
 * - `down`: the double's long-standing answer, exit 255 after a one-line ConnectException. Not what Hadoop 3.4
 *   prints; kept because a test asserts it.
 * - `fast-fail`: as with a fast-fail client config: ~10 s of retries, a Java stack trace on stderr, exit 1.
 * - `hang`: as with the default client config: retries for up to 15 minutes; the double waits until killed.
 */
export type RmOutage = 'down' | 'fast-fail' | 'hang';

export interface DoubleCall {
  at: number;
  tool: string;
  args: string[];
}

export class YarnDouble {
  readonly stateDir: string;
  readonly yarn: string;
  readonly sparkSubmit: string;

  constructor(readonly dir: string) {
    this.stateDir = join(dir, 'state');
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(join(dir, 'bin'), { recursive: true });
    this.yarn = join(dir, 'bin', 'yarn');
    this.sparkSubmit = join(dir, 'bin', 'spark-submit');
    for (const [file, tool] of [
      [this.yarn, 'yarn'],
      [this.sparkSubmit, 'spark-submit'],
    ] as const) {
      writeFileSync(
        file,
        `#!/bin/sh\nYARN_DOUBLE_STATE='${this.stateDir}' exec '${process.execPath}' '${DOUBLE}' ${tool} "$@"\n`,
      );
      chmodSync(file, 0o755);
    }
    if (!existsSync(join(this.stateDir, 'calls.log'))) appendFileSync(join(this.stateDir, 'calls.log'), '');
  }

  /** An ssh step submitting `appName` in cluster mode with waitAppCompletion=false, as Kappa's examples do. */
  submitStep(appName: string, host = 'edge-1') {
    return {
      host,
      command: [
        this.sparkSubmit,
        ...['--master', 'yarn', '--deploy-mode', 'cluster', '--name', appName],
        ...[
          '--conf',
          'spark.yarn.submit.waitAppCompletion=false',
          '--class',
          'com.example.Main',
          '/apps/app.jar',
        ],
      ],
      env: { HADOOP_CONF_DIR: '/etc/hadoop/conf' },
      timeout: '2m',
    };
  }

  /** Every app, as the double would report them now. */
  apps(): DoubleApp[] {
    return model.apps(this.stateDir);
  }

  /** Live apps of that name (RUNNING/ACCEPTED/SUBMITTED as the double would report them now). */
  live(name: string): DoubleApp[] {
    return this.apps().filter((a) => a.name === name && model.isLive(a.state));
  }

  calls(filter?: (c: DoubleCall) => boolean): DoubleCall[] {
    const calls = readFileSync(join(this.stateDir, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DoubleCall);
    return filter ? calls.filter(filter) : calls;
  }

  listCalls(since = 0): DoubleCall[] {
    return this.calls((c) => c.tool === 'yarn' && c.args[1] === '-list' && c.at >= since);
  }

  submits(name: string): DoubleCall[] {
    return this.calls((c) => c.tool === 'spark-submit' && c.args.includes(name));
  }

  /** An app dies on its own or is killed by someone else. */
  killFromOutside(
    id: string,
    state = 'FAILED',
    finalStatus = 'FAILED',
    diagnostics = 'User class threw exception: java.lang.RuntimeException: boom',
  ) {
    model.end(this.stateDir, id, { state, finalStatus, diagnostics });
  }

  /** An app somebody submitted by hand, RUNNING. */
  addRunning(name: string): string {
    return model.submit(this.stateDir, { name, state: 'RUNNING', user: 'ops' }).id;
  }

  /** Takes the ResourceManager away (`how` the client meets that) or brings it back (every outage ends). */
  setRmDown(down: boolean, how: RmOutage = 'down'): void {
    for (const outage of ['down', 'fast-fail', 'hang'] as const) {
      const marker = join(this.stateDir, `rm-${outage}`);
      if (down && outage === how) writeFileSync(marker, '');
      else rmSync(marker, { force: true });
    }
  }
}
