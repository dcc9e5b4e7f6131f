// Processes a test starts that must not outlive it. A test process killed from outside (a CI timeout, `timeout`
// around `node --test`) never runs its after() hooks, and a `kappa worker`, sshd or API server it started would run
// on beside the next tests. On Linux, util-linux's setpriv asks the kernel to SIGKILL the child when the test
// process dies; setpriv execs the command, so the child's pid (and process group) are the command's.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/**
 * `spawn(command, args, options)`, the child killed when this process dies (where setpriv is there; a plain spawn
 * elsewhere). Typed as `spawn` for its stdio-specific return types; always call it with an args array.
 */
export const spawnOwned = ((command: string, args: readonly string[], options: SpawnOptions): ChildProcess =>
  SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options)
    : spawn(command, args, options)) as typeof spawn;
