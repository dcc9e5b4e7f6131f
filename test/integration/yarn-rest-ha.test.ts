// Kappa's REST gateway following the active ResourceManager through a real edge node (an OpenSSH sshd on
// loopback), with curl run there and with a forwarded connection: a first address that refuses connections, a
// standby (test/support/standby-rm.ts, which answers as Hadoop 3.4's standby RM does; the real tier has a single RM),
// then the real ResourceManager of the local YARN (src/sandbox/local-yarn.ts), whose own answers (its JSON list, its
// 404 for an unknown id) are what Kappa reads. No Temporal here: the gateway is driven directly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalYarn } from '../../src/sandbox/local-yarn.js';
import { HostCommandRunner } from '../../src/ssh/command-runner.js';
import { SshPool } from '../../src/ssh/ssh-pool.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { YarnUnavailableError } from '../../src/yarn/model.js';
import { CurlTransport, type RestTransport } from '../../src/yarn/rest-transport.js';
import { TunnelTransport } from '../../src/yarn/rest-tunnel.js';
import { YarnRest } from '../../src/yarn/yarn-rest.js';
import type { YarnGateway } from '../../src/ports.js';
import { Sshd } from '../support/sshd.js';
import { StandbyRm } from '../support/standby-rm.js';

const yarn = new LocalYarn({ nodeManagerMemoryMb: 1024 });
const sshd = new Sshd();
let pool: SshPool;
let dead: string; // nothing listens there: connection refused
let redirecting: StandbyRm; // a standby that knows the active RM (the real one)
let lost: StandbyRm; // a standby that knows none

before(
  async () => {
    await Promise.all([yarn.start(), sshd.start()]);
    const clusterInfo = await (await fetch(`${yarn.webUrl}/ws/v1/cluster/info`)).text();
    redirecting = new StandbyRm(clusterInfo, yarn.webUrl);
    lost = new StandbyRm(clusterInfo);
    await Promise.all([redirecting.start(), lost.start()]);
    dead = `http://127.0.0.1:${await freePort()}`;
    pool = new SshPool({ 'edge-1': await sshd.hostConfig('yarn') });
  },
  { timeout: 300_000 },
);
after(async () => {
  pool?.close();
  await Promise.allSettled([yarn.stop(), sshd.stop(), redirecting?.stop(), lost?.stop()]);
});

/** Kills go to the yarn CLI: none happen here. */
const noCli: YarnGateway = {
  listLive: () => Promise.reject(new Error('not a REST host')),
  nextLive: () => Promise.reject(new Error('not a REST host')),
  status: () => Promise.reject(new Error('not a REST host')),
  kill: () => Promise.reject(new Error('no kills here')),
};

const TRANSPORTS: Record<string, () => RestTransport> = {
  curl: () => new CurlTransport(new HostCommandRunner(pool)),
  tunnel: () => new TunnelTransport((host, target, port) => pool.forwardOut(host, target, port)),
};

function gateway(via: string, resourceManagers: string[]): YarnRest {
  const transport = TRANSPORTS[via]!();
  return new YarnRest(noCli, {
    'edge-1': { resourceManagers, transport, timeoutMs: 20_000, pollIntervalMs: 1_000 },
  });
}

for (const via of Object.keys(TRANSPORTS)) {
  describe(`via ${via}`, () => {
    test('refused, then a standby redirecting to the active: the real RM answers; next time it is asked first', async () => {
      const before = redirecting.requests.length;
      const rest = gateway(via, [dead, redirecting.url, yarn.webUrl]);
      const expected = (await yarn.apps({ states: ['SUBMITTED', 'ACCEPTED', 'RUNNING'] })).map((a) => a.id);
      assert.deepEqual(
        (await rest.listLive('edge-1')).map((a) => a.id),
        expected,
      );
      const seen = redirecting.requests.slice(before);
      assert.deepEqual(
        seen.map((r) => r.url),
        [
          '/ws/v1/cluster/info',
          '/ws/v1/cluster/apps?states=SUBMITTED,ACCEPTED,RUNNING&deSelects=resourceRequests,timeouts,appNodeLabelExpression,amNodeLabelExpression,resourceInfo',
        ],
      );
      // Through the edge node's curl, or a plain request on the forwarded connection.
      assert.equal(/^curl\//.test(seen[0]?.userAgent ?? ''), via === 'curl', seen[0]?.userAgent);
      await rest.listLive('edge-1');
      assert.equal(
        await rest.status('edge-1', 'application_1700000000000_0001'),
        undefined,
        "the real RM's 404",
      );
      assert.equal(redirecting.requests.length, before + 2, 'the active RM asked first once found');
      rest.close();
    });

    test('refused, then a standby that knows no active RM, then the real RM', async () => {
      const before = lost.requests.length;
      const rest = gateway(via, [dead, lost.url, yarn.webUrl]);
      assert.ok(Array.isArray(await rest.listLive('edge-1')));
      await rest.listLive('edge-1');
      assert.equal(lost.requests.length, before + 2);
      rest.close();
    });

    test('none answers: YarnUnavailableError naming the edge node and each address with its error', async () => {
      const rest = gateway(via, [dead, lost.url]);
      await assert.rejects(rest.listLive('edge-1'), (err: Error) => {
        assert.ok(err instanceof YarnUnavailableError, String(err));
        const refusal = via === 'curl' ? /curl: \(7\) Failed to connect/ : /Connection refused/i;
        const [first, second] = err.message
          .replace(/^no ResourceManager answered through edge-1: /, '')
          .split('; ');
        assert.ok(err.message.startsWith('no ResourceManager answered through edge-1: '), err.message);
        assert.ok(first?.startsWith(`${dead}: `) && refusal.test(first), err.message);
        assert.match(
          second ?? '',
          new RegExp(
            `^${lost.url}: HTTP 307, no active ResourceManager known there: "Can not find any active RM\\. Will retry in next \\d seconds\\. HA Zookeeper Connection State: CONNECTED"$`,
          ),
        );
        return true;
      });
      rest.close();
    });
  });
}
