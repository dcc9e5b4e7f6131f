// The `kappa dev` sandbox: a real single-node YARN on this machine (LocalYarn: ResourceManager + NodeManager on
// loopback), the worker's own host as its edge node (`host: local` runs the edge-node `yarn` and `spark-submit`
// wrappers in a shell, as an SSH session on an edge node would), and an example streaming app to keep alive.
// The work dir has a fixed place in the cache, so the wrapper paths (and the app config naming them) stay the
// same from one start to the next; the cluster itself is new each time.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/app-config.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { findJava, LocalYarn } from './local-yarn.js';
import { sandboxAppFile, writeSandboxApp } from './sandbox-app.js';

/** Why this machine cannot run the sandbox (no JDK), or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  try {
    findJava();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Where the sandbox in `dir` has its edge node's `yarn` (LocalYarn's fast-fail client in its fixed work dir), known
 * before the cluster is up: the worker starts meanwhile.
 */
export function sandboxYarnCommand(dir: string): string {
  return join(dir, 'local-yarn', 'bin-fast', 'yarn');
}

/** `base` with the worker's own host (`local`) pointed at the sandbox's `yarn`. */
export function sandboxWorkerConfig(base: WorkerConfig, dir: string): WorkerConfig {
  return { ...base, local: { ...base.local, yarnCommand: sandboxYarnCommand(dir) } };
}

/**
 * LocalYarn picks free ports, then its JVM binds them: another process (the Temporal server starting meanwhile)
 * can take one in between. Such a start is tried again, with new ports.
 */
async function startLocalYarn(workDir: string): Promise<LocalYarn> {
  for (let attempt = 1; ; attempt++) {
    // A kappa dev that was killed leaves its work dir; its cluster stopped when its stdin closed.
    rmSync(workDir, { recursive: true, force: true });
    const yarn = new LocalYarn({ workDir });
    try {
      await yarn.start();
      return yarn;
    } catch (err) {
      if (attempt >= 3 || !portTaken(yarn.logFile)) throw err;
    }
  }
}

function portTaken(logFile: string): boolean {
  try {
    return readFileSync(logFile, 'utf8').includes('java.net.BindException: Address already in use');
  } catch {
    return false;
  }
}

export class Sandbox {
  private constructor(
    readonly yarn: LocalYarn,
    /** The example app, as loaded back from `appFile`. */
    readonly app: AppConfig,
    readonly appFile: string,
  ) {}

  /** Fetches and builds the local YARN if this machine has not yet (minutes, once), then starts it in `dir`. */
  static async start(dir: string): Promise<Sandbox> {
    const yarn = await startLocalYarn(join(dir, 'local-yarn'));
    try {
      const yarnCommand = join(yarn.binDir('fast'), 'yarn');
      if (yarnCommand !== sandboxYarnCommand(dir)) {
        throw new Error(`the local YARN's yarn is ${yarnCommand}, not ${sandboxYarnCommand(dir)}`);
      }
      const appFile = sandboxAppFile(dir);
      return new Sandbox(yarn, writeSandboxApp(yarn, appFile), appFile);
    } catch (err) {
      await yarn.stop();
      throw err;
    }
  }

  /** The edge node's `yarn`: what the worker runs for `host: local`, and what a user kills the app with. */
  get yarnCommand(): string {
    return join(this.yarn.binDir('fast'), 'yarn');
  }

  /** Whether YARN itself says `appId` is RUNNING: an id from before this start is not on this cluster. */
  async isRunning(appId: string): Promise<boolean> {
    try {
      return (await this.yarn.apps()).some((app) => app.id === appId && app.state === 'RUNNING');
    } catch {
      return false;
    }
  }

  /** Stops the cluster and every Spark JVM it started, and removes its work dir. */
  stop(): Promise<void> {
    return this.yarn.stop();
  }
}
