// Installs the yarn/spark-submit double (yarn-double.cjs) in a directory and lets tests read and change its
// state the way the outside world would (an app killed by someone else, a ResourceManager going down).
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
import { withDirLock } from './dir-lock.js';

const DOUBLE = join(__dirname, 'yarn-double.cjs');

export interface DoubleApp {
  id: string;
  name: string;
  state: string;
  finalStatus: string;
  startTime: number;
  diagnostics: string;
}

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

  apps(): DoubleApp[] {
    const file = join(this.stateDir, 'apps.json');
    if (!existsSync(file)) return [];
    return (JSON.parse(readFileSync(file, 'utf8')) as { apps: DoubleApp[] }).apps;
  }

  /** Live apps of that name (RUNNING/ACCEPTED/SUBMITTED as the double would report them now). */
  live(name: string): DoubleApp[] {
    return this.apps().filter(
      (a) => a.name === name && ['SUBMITTED', 'ACCEPTED', 'RUNNING'].includes(a.state),
    );
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

  /** Changes the state under the double's own lock. */
  update(change: (apps: DoubleApp[]) => void): void {
    withDirLock(this.stateDir, 'yarn double', () => {
      const file = join(this.stateDir, 'apps.json');
      const state = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { apps: DoubleApp[] })
        : { clusterTimestamp: 1700000000000, nextSeq: 1, apps: [] };
      change(state.apps);
      writeFileSync(file, JSON.stringify(state));
    });
  }

  /** An app dies on its own or is killed by someone else. */
  killFromOutside(
    id: string,
    state = 'FAILED',
    finalStatus = 'FAILED',
    diagnostics = 'User class threw exception: java.lang.RuntimeException: boom',
  ) {
    this.update((apps) => {
      const app = apps.find((a) => a.id === id);
      if (!app) throw new Error(`no app ${id}`);
      Object.assign(app, { state, finalStatus, diagnostics, finishTime: Date.now() });
    });
  }

  /** An app somebody submitted by hand, RUNNING. */
  addRunning(name: string): string {
    let id = '';
    this.update((apps) => {
      const seq = apps.length + 1000;
      id = `application_1700000000000_${seq}`;
      apps.push({
        id,
        name,
        state: 'RUNNING',
        finalStatus: 'UNDEFINED',
        startTime: Date.now(),
        diagnostics: '',
        ...{ type: 'SPARK', user: 'ops', queue: 'default', progress: 0.1, finishTime: 0 },
      });
    });
    return id;
  }

  setRmDown(down: boolean): void {
    const flag = join(this.stateDir, 'rm-down');
    if (down) writeFileSync(flag, '');
    else rmSync(flag, { force: true });
  }
}
