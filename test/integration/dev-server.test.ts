// Starting test and `kappa dev` servers: ports picked outside the kernel's ephemeral range, and a server that died of
// a port in use said so (PortInUseError) and started again on another port, instead of failing the test that
// needed it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  freePort,
  isServerReachable,
  PortInUseError,
  startDevServer,
  startDevServerOnFreePort,
} from '../../src/temporal/dev-server.js';
import { tempDir } from '../support/harness.js';

/** Holds `port` (a connection to it is closed at once, so closing the holder waits for nobody). */
async function hold(port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

test('freePort: distinct bindable loopback ports below the ephemeral range', async () => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const port of ports) {
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is outside the ephemeral range`);
  }
  const held = await Promise.all(ports.slice(0, 5).map(hold));
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
});

test('a dev server on a taken port fails with PortInUseError; on a free port it starts again', async () => {
  const taken = await freePort();
  const holder = await hold(taken);
  try {
    const logFile = join(tempDir('dev-server'), 'temporal.log');
    const started = Date.now();
    await assert.rejects(startDevServer({ port: taken, logFile }), (err: Error) => {
      assert.ok(err instanceof PortInUseError, `a PortInUseError: ${err.message}`);
      assert.match(err.message, new RegExp(`${taken}.*address already in use`));
      return true;
    });
    assert.ok(
      Date.now() - started < 30_000,
      'the failed start ends when the server exits, not at the deadline',
    );

    const picked: number[] = [];
    const server = await startDevServerOnFreePort(
      { logFile },
      {
        pickPort: async () => {
          const port = picked.length === 0 ? taken : await freePort();
          picked.push(port);
          return port;
        },
      },
    );
    try {
      assert.equal(picked.length, 2, 'one start on the taken port, one on a free port');
      assert.equal(server.address, `127.0.0.1:${picked[1]}`);
      assert.equal(await isServerReachable(server.address), true);
    } finally {
      await server.stop();
    }
  } finally {
    await new Promise((r) => holder.close(r));
  }
});
