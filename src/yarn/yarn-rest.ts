// The YARN gateway on the ResourceManager's REST API, reached through the edge node (curl there, or a forwarded
// connection): a poll costs a small process or nothing on the edge node, where the `yarn` CLI costs a JVM. The
// same reports and the same errors as YarnCli, so supervision does not change. Kills stay on the `yarn` CLI: they
// need the app owner's identity on the edge node, and they are rare. Hosts without REST go to the CLI gateway.
import type { LiveSnapshot, LiveWaitOptions, YarnGateway } from '../ports.js';
import { HostPoller, type PollRequest } from './host-poller.js';
import { changesPaths, LiveView, type LiveChanges } from './live-changes.js';
import { LIVE_STATES, type YarnAppReport } from './model.js';
import { YarnOutputError } from './parse.js';
import { isRestAppNotFound, isRestInvalidDeSelects, parseRestApp, parseRestAppList } from './parse-rest.js';
import type { RestAnswer, RestTransport } from './rest-transport.js';
import { httpProblem, ResourceManagers } from './rm-failover.js';

/** One edge node read through the REST API (`hosts.<name>` with `yarnApi: rest`). */
export interface RestHost {
  /** The ResourceManagers' web addresses as the edge node reaches them; several for HA. */
  resourceManagers: string[];
  transport: RestTransport;
  /** One request's limit (`yarnTimeout`). */
  timeoutMs: number;
  /** The longest time between the host's polls while supervisions wait (`yarnRest.pollInterval`). */
  pollIntervalMs: number;
  /** The ResourceManager web UI, for a link to an app whose tracking URL YARN does not give yet. */
  webUrl?: string;
}

export interface YarnRestOptions {
  /** Called after every list with how long it took (for metrics). */
  onPoll?: (host: string, seconds: number, ok: boolean) => void;
}

const LIST_PATH = `/ws/v1/cluster/apps?states=${LIVE_STATES.join(',')}`;
/**
 * Fields of each app Kappa never reads, left out by the ResourceManager (Hadoop 3.4: 3.7 KB -> 1.2 KB per app, so a
 * poll of 1000 apps moves and parses a third as much). `resourceInfo` alone is two thirds of an app.
 */
const DESELECTS = [
  'resourceRequests',
  'timeouts',
  'appNodeLabelExpression',
  'amNodeLabelExpression',
  'resourceInfo',
];
const LEAN = `deSelects=${DESELECTS.join(',')}`;
/** What `lists` gets from an RM that refuses the deSelects: ask again without them. */
const REFUSED = Symbol('deSelects refused');

export class YarnRest implements YarnGateway {
  private readonly pollers = new Map<string, HostPoller>();
  private readonly rms = new Map<string, ResourceManagers>();
  /** Hosts whose ResourceManager refused the deSelects (an older release): their lists ask for every field. */
  private readonly refusesDeSelects = new Set<string>();
  private readonly views = new Map<string, LiveView>();

  /** `cli` answers for hosts not in `hosts`, and kills everywhere. */
  constructor(
    private readonly cli: YarnGateway,
    private readonly hosts: Record<string, RestHost>,
    private readonly options: YarnRestOptions = {},
  ) {
    for (const [name, host] of Object.entries(hosts)) {
      this.rms.set(name, new ResourceManagers(name, host.resourceManagers, host.transport, host.timeoutMs));
    }
  }

  /** Stops every scheduled poll (worker shutdown). */
  close(): void {
    for (const poller of this.pollers.values()) poller.close();
    this.pollers.clear();
  }

  listLive(host: string, maxAgeMs = 0): Promise<YarnAppReport[]> {
    const poller = this.poller(host);
    return poller ? poller.snapshot(maxAgeMs) : this.cli.listLive(host, maxAgeMs);
  }

  nextLive(
    host: string,
    intervalMs: number,
    after: number,
    options?: LiveWaitOptions,
  ): Promise<LiveSnapshot> {
    const poller = this.poller(host);
    return poller
      ? poller.nextLive(after, intervalMs, options)
      : this.cli.nextLive(host, intervalMs, after, options);
  }

  async status(host: string, appId: string): Promise<YarnAppReport | undefined> {
    const rms = this.rms.get(host);
    if (!rms) return this.cli.status(host, appId);
    const report = await rms.get(`/ws/v1/cluster/apps/${encodeURIComponent(appId)}`, (answer) => {
      if (answer.status === 404 && isRestAppNotFound(answer.body)) return undefined;
      return parse(answer, parseRestApp);
    });
    return report && this.withLink(host, report);
  }

  kill(host: string, appId: string): Promise<void> {
    return this.cli.kill(host, appId);
  }

  private poller(host: string): HostPoller | undefined {
    const config = this.hosts[host];
    if (!config) return undefined;
    let poller = this.pollers.get(host);
    if (!poller) {
      poller = new HostPoller((request) => this.list(host, request), {
        maxIntervalMs: config.pollIntervalMs,
      });
      this.pollers.set(host, poller);
    }
    return poller;
  }

  /**
   * A poll of the host's live apps. A scheduled one asks only what changed since the last poll, with a full list
   * at least once per supervision interval; an existence check, or anything after a failed poll, lists in full.
   */
  private async list(host: string, request: PollRequest): Promise<YarnAppReport[]> {
    const started = Date.now();
    let view = this.views.get(host);
    if (!view) this.views.set(host, (view = new LiveView()));
    let ok = false;
    try {
      let apps: YarnAppReport[] | undefined;
      if (!request.fresh && view.canAskChanges(started, request.intervalMs)) {
        apps = view.apply(started, await this.changes(host, view.changesSince()));
      }
      apps ??= view.full(started, (await this.lists(host, [LIST_PATH]))[0]!);
      ok = true;
      return apps;
    } catch (err) {
      view.forget();
      throw err;
    } finally {
      this.options.onPoll?.(host, (Date.now() - started) / 1000, ok);
    }
  }

  private async changes(host: string, since: number): Promise<LiveChanges> {
    const [waiting, started, finished] = await this.lists(host, changesPaths(since));
    return { waiting: waiting!, started: started!, finished: finished! };
  }

  /** App lists, all from the same ResourceManager in one go; lean (deSelects) unless the RM refuses them. */
  private async lists(host: string, paths: string[]): Promise<YarnAppReport[][]> {
    const rms = this.rms.get(host)!;
    const readAll = (answers: RestAnswer[]) =>
      answers.map((answer) => parse(answer, parseRestAppList).map((app) => this.withLink(host, app)));
    if (!this.refusesDeSelects.has(host)) {
      const lean = await rms.getAll(
        paths.map((path) => `${path}${path.includes('?') ? '&' : '?'}${LEAN}`),
        (answers) =>
          answers.some((a) => isRestInvalidDeSelects(a.status, a.body)) ? REFUSED : readAll(answers),
      );
      if (lean !== REFUSED) return lean;
      this.refusesDeSelects.add(host);
    }
    return rms.getAll(paths, readAll);
  }

  /** The app's tracking URL as YARN gives it, else its page in the configured ResourceManager web UI. */
  private withLink(host: string, report: YarnAppReport): YarnAppReport {
    const web = this.hosts[host]?.webUrl;
    if (report.trackingUrl || !web) return report;
    return { ...report, trackingUrl: `${web.replace(/\/+$/, '')}/cluster/app/${report.id}` };
  }
}

/** A 200's body through `parser`; anything else is this address's error (ResourceManagers tries the next). */
function parse<T>(answer: RestAnswer, parser: (body: string) => T): T {
  if (answer.status !== 200) throw httpProblem(answer);
  try {
    return parser(answer.body);
  } catch (err) {
    throw err instanceof YarnOutputError ? new Error(`unparsable answer: ${err.message}`) : err;
  }
}
