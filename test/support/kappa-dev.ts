// `kappa dev` started by a test on ports picked here, and started again on new ones when its Temporal dev server
// died of a port another process took first (the server's own HTTP and metrics ports are random too).
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../src/temporal/dev-server.js';

/** A running `kappa dev` and what it printed so far. */
export interface KappaDev {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The Temporal address it was given. */
  address: string;
  uiPort: number;
}

const SERVER_UP = 'Temporal server on ';
const PORT_TAKEN = 'address already in use';

/**
 * Launches `kappa dev` through `launch` (given the server's address and the UI port) and returns once its Temporal
 * server is up, or once it has exited for another reason than a port in use (the caller's assertions tell why).
 */
export async function startKappaDev(
  launch: (address: string, uiPort: number) => ChildProcess,
  attempts = 3,
): Promise<KappaDev> {
  for (let attempt = 1; ; attempt++) {
    const [port, uiPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${port}`;
    const child = launch(address, uiPort);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    while (!done && !output.includes(SERVER_UP)) await new Promise((r) => setTimeout(r, 100));
    const retry = done && !output.includes(SERVER_UP) && output.includes(PORT_TAKEN) && attempt < attempts;
    if (!retry) return { child, output: () => output, exited, address, uiPort };
  }
}
