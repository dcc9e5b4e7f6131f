// Reading YARN through the ResourceManager REST API, the pure parts: the answers as the real RM gives them
// (test/fixtures/yarn-transcripts/rest-*.json, recorded from Hadoop 3.4.1), the curl command and its output, the
// HA following over a scripted transport, and the host poller's schedule for a REST host.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CommandOptions, CommandResult, CommandRunner } from '../../src/ssh/command-runner.js';
import { HostUnreachableError } from '../../src/ssh/command-runner.js';
import { HostPoller } from '../../src/yarn/host-poller.js';
import { YarnUnavailableError, type YarnAppReport } from '../../src/yarn/model.js';
import { parseApplicationStatus, YarnOutputError } from '../../src/yarn/parse.js';
import {
  isRestAppNotFound,
  parseClusterHaState,
  parseRestApp,
  parseRestAppList,
} from '../../src/yarn/parse-rest.js';
import {
  curlArgv,
  CurlTransport,
  type RestAnswer,
  type RestTransport,
} from '../../src/yarn/rest-transport.js';
import { ResourceManagers } from '../../src/yarn/rm-failover.js';
import { YarnRest } from '../../src/yarn/yarn-rest.js';
import type { YarnGateway } from '../../src/ports.js';
import { shellJoin } from '../../src/common/shell-quote.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'yarn-transcripts');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('REST answers, as the real ResourceManager gives them', () => {
  test('no live apps: {"apps":{}} (3.4.1)', () => {
    assert.deepEqual(parseRestAppList(fixture('rest-apps-none.json')), []);
  });

  test('the live list: the same fields as yarn -list (no diagnostics); the tracking URL once the AM registered', () => {
    const [accepted] = parseRestAppList(fixture('rest-apps-accepted.json'));
    assert.deepEqual(accepted && { ...accepted, id: 'ID' }, {
      id: 'ID',
      name: 'Kappa REST Sample',
      state: 'ACCEPTED',
      finalStatus: 'UNDEFINED',
    });
    const [running] = parseRestAppList(fixture('rest-apps-running.json'));
    assert.equal(running?.state, 'RUNNING');
    assert.equal(running?.diagnostics, undefined);
    assert.match(running?.trackingUrl ?? '', /^http:\/\/localhost:\d+\/proxy\/application_\d+_\d+\/$/);
  });

  test("one app's report: final state and diagnostics as yarn application -status gives them", () => {
    const killed = parseRestApp(fixture('rest-app-killed.json'));
    assert.deepEqual([killed.state, killed.finalStatus], ['KILLED', 'KILLED']);
    assert.match(killed.diagnostics ?? '', /^Application application_\d+_\d+ was killed by user/);
    const failed = parseRestApp(fixture('rest-app-failed.json'));
    assert.deepEqual([failed.state, failed.finalStatus], ['FINISHED', 'FAILED']);
    assert.match(
      failed.diagnostics ?? '',
      /User class threw exception: java\.lang\.IllegalStateException: RateApp: deliberate failure/,
    );
    const running = parseRestApp(fixture('rest-app-running.json'));
    assert.deepEqual(
      [running.state, running.finalStatus, running.diagnostics],
      ['RUNNING', 'UNDEFINED', undefined],
    );
  });

  test('the same app read through REST and through yarn application -status, at the same time: the same report', () => {
    for (const which of ['failed', 'killed']) {
      const rest = parseRestApp(fixture(`rest-app-${which}.json`));
      const cli = parseApplicationStatus(fixture(`rest-same-app-yarn-status-${which}.stdout.txt`));
      // The tracking URL differs: the CLI says N/A for a finished Spark app, REST gives the RM's page for it.
      assert.deepEqual({ ...rest, trackingUrl: 'x' }, { ...cli, trackingUrl: 'x' }, which);
    }
  });

  test('{"apps":null}, what releases before 3.4 answer for no app, is no app too', () => {
    assert.deepEqual(parseRestAppList('{"apps":null}'), []);
  });

  test("the cluster's HA state (ACTIVE here: a single RM)", () => {
    assert.equal(parseClusterHaState(fixture('rest-cluster-info.json')), 'ACTIVE');
    assert.throws(() => parseClusterHaState('{"apps":null}'), /no "clusterInfo.haState"/);
  });

  test('an unknown id: 404 with a NotFoundException; any other 404 is not "unknown"', () => {
    assert.equal(isRestAppNotFound(fixture('rest-app-unknown.json')), true);
    assert.equal(isRestAppNotFound('<html><body>HTTP ERROR 404 Not Found</body></html>'), false);
    assert.equal(isRestAppNotFound('{"RemoteException":{"exception":"BadRequestException"}}'), false);
  });

  test('anything else is unparsable, never "no apps"', () => {
    for (const body of ['', '<html>This is standby RM.</html>', '{}', '{"apps":[]}', '{"apps":{"app":{}}}']) {
      assert.throws(() => parseRestAppList(body), YarnOutputError, body);
    }
    assert.throws(
      () => parseRestApp('{"app":{"id":"x","state":"RUNNING"}}'),
      /incomplete application report/,
    );
  });
});

/** A CommandRunner that records the command line and answers with `result`. */
function runnerAnswering(
  result: CommandResult,
): CommandRunner & { commands: string[]; options: CommandOptions[] } {
  const commands: string[] = [];
  const options: CommandOptions[] = [];
  return {
    commands,
    options,
    run: (_host, command, opts) => {
      commands.push(command);
      options.push(opts);
      return Promise.resolve(result);
    },
  };
}

/** What curl writes after each transfer (CurlTransport's --write-out). */
const done = (status: string, location = '') => `\n<kappa-http ${status} ${location}>\n`;

describe('via curl', () => {
  test('the command: argv quoted, a status line written after each body, SPNEGO only when asked', () => {
    const info = 'http://rm1:8088/ws/v1/cluster/info';
    const url = 'http://rm1:8088/ws/v1/cluster/apps?states=SUBMITTED,ACCEPTED,RUNNING';
    assert.equal(
      shellJoin(curlArgv([info, url], 10_000)),
      `curl --silent --show-error --max-time 10 --header 'Accept: application/json' --write-out '\\n<kappa-http %{http_code} %{redirect_url}>\\n' ${info} '${url}'`,
    );
    assert.deepEqual(curlArgv([url], 1_500, { negotiate: true }).slice(-4), [
      '--negotiate',
      '--user',
      ':',
      url,
    ]);
  });

  test('several URLs in one curl: each answer, a standby redirect, a refused connection in its place', async () => {
    const stdout = [
      '{"clusterInfo":{"haState":"STANDBY"}}',
      done('200'),
      'This is standby RM. The redirect url is: /x\n',
      done('307', 'http://rm2:8088/x'),
      done('000'),
    ].join('');
    const runner = runnerAnswering({
      code: 7,
      stdout,
      stderr: "curl: (7) Failed to connect to rm3 port 8088 after 0 ms: Couldn't connect to server\n",
    });
    const urls = ['http://rm1:8088/i', 'http://rm1:8088/x', 'http://rm3:8088/x'];
    const [info, standby, refused] = await new CurlTransport(runner).getEach('edge-1', urls, 10_000);
    assert.deepEqual(info, { status: 200, body: '{"clusterInfo":{"haState":"STANDBY"}}' });
    assert.deepEqual(standby, {
      status: 307,
      location: 'http://rm2:8088/x',
      body: 'This is standby RM. The redirect url is: /x\n',
    });
    assert.ok(refused instanceof Error && !(refused instanceof HostUnreachableError));
    assert.match(refused.message, /^curl: \(7\) Failed to connect to rm3 port 8088/);
    assert.equal(runner.commands.length, 1, 'one curl');
    assert.equal(runner.options[0]?.timeoutMs, 32_000, "the session outlives curl's own --max-time per URL");
  });

  test("one URL; curl missing is the edge node's problem; never anything but a URL as an argument", async () => {
    const ok = runnerAnswering({ code: 0, stdout: `{"apps":{}}${done('200')}`, stderr: '' });
    assert.deepEqual(await new CurlTransport(ok).get('edge-1', 'http://rm1:8088/x', 10_000), {
      status: 200,
      body: '{"apps":{}}',
    });
    const missing = runnerAnswering({ code: 127, stdout: '', stderr: 'sh: 1: curl: not found\n' });
    await assert.rejects(
      new CurlTransport(missing).get('edge-1', 'http://rm1:8088/x', 10_000),
      (err: Error) => err instanceof HostUnreachableError && /curl: not found/.test(err.message),
    );
    const badOption = runnerAnswering({
      code: 2,
      stdout: '',
      stderr: 'curl: option --negotiate: is unknown\n',
    });
    await assert.rejects(
      new CurlTransport(badOption).get('edge-1', 'http://rm1:8088/x', 10_000),
      /is unknown/,
    );
    await assert.rejects(
      new CurlTransport(ok).get('edge-1', '-K/etc/passwd', 10_000),
      /not an http\(s\) URL/,
    );
  });
});

/** A transport that answers from a script per URL origin, and records every URL asked. */
function scripted(
  script: Record<string, (url: string) => RestAnswer | Error>,
): RestTransport & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: (_host, url) => {
      asked.push(url);
      const answer = script[new URL(url).origin]?.(url) ?? new Error('no route');
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    getEach: async (_host, urls) => {
      const answers: (RestAnswer | Error)[] = [];
      for (const url of urls) {
        asked.push(url);
        const answer = script[new URL(url).origin]?.(url) ?? new Error('no route');
        if (answer instanceof HostUnreachableError) throw answer;
        answers.push(answer);
      }
      return Promise.resolve(answers);
    },
  };
}
const INFO = '/ws/v1/cluster/info';
const APPS = '/ws/v1/cluster/apps';
const NONE: RestAnswer = { status: 200, body: '{"apps":null}' };
/** /ws/v1/cluster/info as an RM in `haState` answers it (the real answer, its haState replaced). */
const info = (haState: string): RestAnswer => ({
  status: 200,
  body: fixture('rest-cluster-info.json').replace(/"haState":"\w+"/, `"haState":"${haState}"`),
});
/** An RM in `haState` that answers other paths with `answer`. */
const rm =
  (haState: string, answer: (url: string) => RestAnswer | Error) =>
  (url: string): RestAnswer | Error =>
    new URL(url).pathname === INFO ? info(haState) : answer(url);
const refused = () =>
  new Error("curl: (7) Failed to connect to rm1 port 8088 after 0 ms: Couldn't connect to server");
/** A standby (RMWebAppFilter) that knows the active RM `active`. */
const standbyTo = (active: string) =>
  rm('STANDBY', (url) => {
    const { pathname, search } = new URL(url);
    return {
      status: 307,
      location: `${active}${pathname}${search}`,
      body: `This is standby RM. The redirect url is: ${pathname}${search}\n`,
    };
  });
const read = (answer: RestAnswer) => {
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
  if (answer.body.startsWith('{')) return parseRestAppList(answer.body);
  throw new Error(`not the REST API: ${answer.body}`);
};
const paths = (transport: { asked: string[] }) =>
  transport.asked.map((u) => u.replace(/^http:\/\/rm(\d):8088/, 'rm$1 '));

describe('HA: following the active ResourceManager', () => {
  const RM1 = 'http://rm1:8088';
  const RM2 = 'http://rm2:8088';
  const RM3 = 'http://rm3:8088';

  test('refused, then a standby that redirects to the active: followed; next time the active first', async () => {
    const transport = scripted({ [RM1]: refused, [RM2]: standbyTo(RM3), [RM3]: rm('ACTIVE', () => NONE) });
    const rms = new ResourceManagers('edge-1', [RM1, RM2, RM3], transport, 10_000);
    assert.deepEqual(await rms.get(`${APPS}?states=RUNNING`, read), []);
    // Each address: its cluster info and the question in one go (one curl); the redirect followed on its own.
    assert.deepEqual(paths(transport), [
      `rm1 ${INFO}`,
      `rm1 ${APPS}?states=RUNNING`,
      `rm2 ${INFO}`,
      `rm2 ${APPS}?states=RUNNING`,
      `rm3 ${APPS}?states=RUNNING`,
    ]);
    transport.asked.length = 0;
    await rms.get(APPS, read);
    assert.deepEqual(paths(transport), [`rm3 ${INFO}`, `rm3 ${APPS}`]);
  });

  test('a standby that knows no active one (307 without Location), then the active', async () => {
    const noActive = rm('STANDBY', () => ({
      status: 307,
      body: 'Can not find any active RM. Will retry in next 6 seconds.\nHA Zookeeper Connection State: CONNECTED\n',
    }));
    const transport = scripted({ [RM1]: noActive, [RM2]: rm('ACTIVE', () => NONE) });
    const rms = new ResourceManagers('edge-1', [RM1, `${RM2}/`], transport, 10_000);
    assert.deepEqual(await rms.get(APPS, read), []);
    transport.asked.length = 0;
    await rms.get(APPS, read);
    assert.deepEqual(paths(transport), [`rm2 ${INFO}`, `rm2 ${APPS}`], 'the one that answered, first');
  });

  test('several questions in one go (a poll for changes): a standby sends each to the active, asked there together', async () => {
    const transport = scripted({ [RM1]: standbyTo(RM2), [RM2]: rm('ACTIVE', () => NONE) });
    const rms = new ResourceManagers('edge-1', [RM1, RM2], transport, 10_000);
    const questions = [
      `${APPS}?states=ACCEPTED`,
      `${APPS}?startedTimeBegin=1`,
      `${APPS}?finishedTimeBegin=1`,
    ];
    assert.deepEqual(await rms.getAll(questions, (answers) => answers.map(read)), [[], [], []]);
    assert.deepEqual(paths(transport), [
      `rm1 ${INFO}`,
      ...questions.map((q) => `rm1 ${q}`),
      ...questions.map((q) => `rm2 ${q}`),
    ]);
    transport.asked.length = 0;
    await rms.getAll(questions, (answers) => answers.map(read));
    assert.deepEqual(paths(transport), [`rm2 ${INFO}`, ...questions.map((q) => `rm2 ${q}`)]);
  });

  test('an RM still starting (haState INITIALIZING) is not believed: it would list no apps and know no id', async () => {
    const transport = scripted({ [RM1]: rm('INITIALIZING', () => NONE), [RM2]: rm('ACTIVE', () => NONE) });
    const one = new ResourceManagers('edge-1', [RM1], transport, 10_000);
    await assert.rejects(
      one.get(APPS, read),
      /^YarnUnavailableError: no ResourceManager answered through edge-1: http:\/\/rm1:8088: not ready: haState INITIALIZING/,
    );
    assert.deepEqual(paths(transport), [`rm1 ${INFO}`, `rm1 ${APPS}`]);
    const two = new ResourceManagers('edge-1', [RM1, RM2], transport, 10_000);
    assert.deepEqual(await two.get(APPS, read), []);
  });

  test('none answers: every address with its error, naming the edge node', async () => {
    const transport = scripted({
      [RM1]: refused,
      [RM2]: standbyTo(RM3),
      [RM3]: () => ({ status: 503, body: 'Service Unavailable' }),
    });
    const rms = new ResourceManagers('edge-1', [RM1, RM2], transport, 10_000);
    await assert.rejects(rms.get(APPS, read), (err: Error) => {
      assert.ok(err instanceof YarnUnavailableError);
      assert.equal(
        err.message,
        `no ResourceManager answered through edge-1: ${RM1}: curl: (7) Failed to connect to rm1 port 8088 after 0 ms: Couldn't connect to server; ${RM2}: redirected to ${RM3}${APPS}: HTTP 503`,
      );
      return true;
    });
  });

  test('a redirect is followed once only; an answer that is not the REST API counts as no answer', async () => {
    const transport = scripted({
      [RM1]: standbyTo(RM2),
      [RM2]: standbyTo(RM1),
      [RM3]: rm('ACTIVE', () => ({ status: 200, body: '<html>a login page</html>' })),
    });
    const rms = new ResourceManagers('edge-1', [RM1, RM3], transport, 10_000);
    await assert.rejects(
      rms.get(APPS, read),
      new RegExp(
        `${RM1}: redirected to ${RM2}${APPS}, which redirects again \\(HTTP 307\\); ${RM3}: not the REST API: <html>a login page</html>$`,
      ),
    );
  });

  test('the edge node itself unreachable: said at once, not per ResourceManager', async () => {
    const transport = scripted({
      [RM1]: () => new HostUnreachableError('spark@edge-1:22 (edge-1): connect ECONNREFUSED'),
    });
    const rms = new ResourceManagers('edge-1', [RM1, RM2], transport, 10_000);
    await assert.rejects(rms.get(APPS, read), (err: Error) => {
      assert.ok(err instanceof YarnUnavailableError);
      assert.equal(err.message, 'edge-1: spark@edge-1:22 (edge-1): connect ECONNREFUSED');
      return true;
    });
    assert.equal(transport.asked.length, 1);
  });
});

/** Every host here is a REST host: the CLI gateway is never asked. */
const noCli: YarnGateway = {
  listLive: () => Promise.reject(new Error('not a REST host')),
  nextLive: () => Promise.reject(new Error('not a REST host')),
  status: () => Promise.reject(new Error('not a REST host')),
  kill: () => Promise.reject(new Error('no kills here')),
};

describe('the live list: without the fields Kappa never reads', () => {
  const RM = 'http://rm1:8088';
  const LEAN =
    'deSelects=resourceRequests,timeouts,appNodeLabelExpression,amNodeLabelExpression,resourceInfo';
  const rest = (transport: RestTransport) =>
    new YarnRest(noCli, {
      'edge-1': { resourceManagers: [RM], transport, timeoutMs: 10_000, pollIntervalMs: 2_000 },
    });

  test('asks with deSelects; the lean answer (real, 1.2 KB per app) reads as the full one', async () => {
    const transport = scripted({
      [RM]: rm('ACTIVE', (url) => ({
        status: 200,
        body: fixture(
          url.includes('deSelects=') ? 'rest-apps-running-deselects.json' : 'rest-apps-running.json',
        ),
      })),
    });
    const gateway = rest(transport);
    const lean = await gateway.listLive('edge-1');
    assert.ok(transport.asked.some((url) => url.endsWith(`?states=SUBMITTED,ACCEPTED,RUNNING&${LEAN}`)));
    // Another app than rest-apps-running.json's, recorded the same way: the same fields come out of both.
    const [full] = parseRestAppList(fixture('rest-apps-running.json'));
    assert.deepEqual(Object.keys(lean[0] ?? {}).sort(), Object.keys(full ?? {}).sort());
    assert.equal(lean[0]?.state, 'RUNNING');
    assert.match(lean[0]?.trackingUrl ?? '', /\/proxy\/application_\d+_\d+\/$/);
    gateway.close();
  });

  test('an RM that refuses them (400 Invalid deSelects string, as the real one answers): asked again without, and from then on', async () => {
    const transport = scripted({
      [RM]: rm('ACTIVE', (url) =>
        url.includes('deSelects=')
          ? { status: 400, body: fixture('rest-apps-invalid-deselects.json') }
          : { status: 200, body: fixture('rest-apps-running.json') },
      ),
    });
    const gateway = rest(transport);
    assert.equal((await gateway.listLive('edge-1')).length, 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await gateway.listLive('edge-1')).length, 1);
    const lists = transport.asked.filter((url) => url.includes(APPS));
    assert.deepEqual(
      lists.map((url) => url.includes('deSelects=')),
      [true, false, false],
    );
    gateway.close();
  });

  test('any other 400 is the poll failing, not a reason to ask for everything', async () => {
    const transport = scripted({
      [RM]: rm('ACTIVE', () => ({
        status: 400,
        body: '{"RemoteException":{"exception":"BadRequestException","message":"java.lang.Exception: Invalid application-state x"}}',
      })),
    });
    const gateway = rest(transport);
    await assert.rejects(gateway.listLive('edge-1'), YarnUnavailableError);
    assert.ok(transport.asked.filter((url) => url.includes(APPS)).every((url) => url.includes('deSelects=')));
    gateway.close();
  });
});

describe('the host poller of a REST host', () => {
  test('polls at its own interval when that is shorter than what supervisions ask', async () => {
    const polls: number[] = [];
    const apps: YarnAppReport[] = [];
    const poller = new HostPoller(
      () => {
        polls.push(Date.now());
        return Promise.resolve(apps);
      },
      { maxIntervalMs: 100 },
    );
    const alive = setInterval(() => undefined, 1_000); // the poller's timers do not hold the process
    try {
      let after = Date.now();
      for (let i = 0; i < 4; i++) after = (await poller.nextLive(after, 60_000)).startedAt;
      assert.equal(polls.length, 4);
      assert.ok(polls.at(-1)! - polls[0]! < 2_000, `4 polls took ${polls.at(-1)! - polls[0]!} ms`);
    } finally {
      clearInterval(alive);
      poller.close();
    }
  });

  test('fresh lists (existence checks) are spaced: a burst of them shares few polls, each after the request', async () => {
    const starts: number[] = [];
    const poller = new HostPoller(
      () => {
        const start = Date.now();
        starts.push(start);
        // The answer says when its poll started.
        const app = { id: String(start), name: 'x', state: 'RUNNING', finalStatus: 'UNDEFINED' } as const;
        return new Promise((resolve) => setTimeout(() => resolve([app]), 20));
      },
      { freshSpacingMs: 200 },
    );
    const asked: number[] = [];
    const answers: Promise<YarnAppReport[]>[] = [];
    for (let i = 0; i < 10; i++) {
      asked.push(Date.now());
      answers.push(poller.snapshot(0));
      await new Promise((r) => setTimeout(r, 50));
    }
    const polledAt = (await Promise.all(answers)).map((apps) => Number(apps[0]!.id));
    poller.close();
    assert.ok(starts.length >= 2 && starts.length <= 4, `${starts.length} polls for 10 checks in 0.5 s`);
    for (let i = 1; i < starts.length; i++)
      assert.ok(starts[i]! - starts[i - 1]! >= 195, `polls ${starts[i]! - starts[i - 1]!} ms apart`);
    // Every check was answered by a poll that started at or after it was asked.
    polledAt.forEach((at, i) =>
      assert.ok(at >= asked[i]!, `check ${i}: a poll from ${asked[i]! - at} ms before`),
    );
  });

  test('a thousand waiters share one poll; one that asks a shorter interval brings the next poll forward', async () => {
    let polls = 0;
    const poller = new HostPoller(() => {
      polls += 1;
      return Promise.resolve([]);
    });
    const alive = setInterval(() => undefined, 1_000);
    try {
      const first = await poller.nextLive(Date.now() - 1, 60_000);
      const slow = Array.from({ length: 1000 }, () => poller.nextLive(first.startedAt, 60_000));
      const started = Date.now();
      const quick = await poller.nextLive(first.startedAt, 50);
      assert.ok(Date.now() - started < 2_000, `the 50 ms waiter waited ${Date.now() - started} ms`);
      const answered = await Promise.all(slow);
      assert.equal(polls, 2);
      assert.ok(answered.every((snap) => snap.startedAt === quick.startedAt));
    } finally {
      clearInterval(alive);
      poller.close();
    }
  });
});
