// Stands in for a ResourceManager's REST API (Hadoop 3.4 RMWebServices) in scripts/bench-supervise.ts, where the
// edge node polls the RM of 1000 apps: more than the single-node real YARN on this machine can carry. The real RM's
// REST is exercised by test/integration/yarn-real-e2e*.test.ts. Serves on loopback only, from the same
// yarn-model.cjs state dir as the yarn/spark-submit double (yarn-double.ts), so submits by the double and kills from
// outside show up here, the three paths Kappa asks (src/yarn/yarn-rest.ts, rm-failover.ts):
//   GET /ws/v1/cluster/info                          clusterInfo, haState ACTIVE
//   GET /ws/v1/cluster/apps?states=A,B[&startedTimeBegin=T][&finishedTimeBegin=T][&deSelects=…]
//                                                    {"apps":{"app":[…]}}, or {"apps":{}} when none matches; the
//                                                    time filters as ClientRMService applies them (start or finish
//                                                    time >= T: a live app's finish time is 0)
//   GET /ws/v1/cluster/apps/<id>                     {"app":{…}}, or 404 with the RemoteException body
// in the shapes recorded from the real RM (test/fixtures/yarn-transcripts/rest-*.json): each app is the recorded
// app of its state with the model's id, name, user, states, times and diagnostics put in, so a list weighs what
// the real one does (~3.6 KB per app, 3.6 MB for 1000; ~1.2 KB with the deSelects Kappa sends, which it honours
// as Hadoop 3.4 does). Counts the requests, per kind, with their times.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as model from './yarn-model.cjs';

const FIXTURES = join(__dirname, '..', 'fixtures', 'yarn-transcripts');
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, Record<string, unknown>>;
// JSON.parse keeps the last of resourceSecondsMap's two "entry" keys (the RM's JSON writes both): 40 bytes less.
const TEMPLATE = {
  ACCEPTED: fixture('rest-app-accepted.json').app!,
  RUNNING: fixture('rest-app-running.json').app!,
  ENDED: fixture('rest-app-killed.json').app!,
};
const CLUSTER_INFO = fixture('rest-cluster-info.json');

/** The fields Hadoop 3.4's `deSelects` can leave out of each app (DeSelectFields.DeSelectType). */
const DESELECTABLE = [
  'resourceRequests',
  'timeouts',
  'appNodeLabelExpression',
  'amNodeLabelExpression',
  'resourceInfo',
];
/** The real RM's 400 for a name it does not know (test/fixtures/yarn-transcripts/rest-apps-invalid-deselects.json). */
const invalidDeSelects = (name: string) => ({
  RemoteException: {
    exception: 'BadRequestException',
    message: `java.lang.Exception: Invalid deSelects string ${name} specified. It should be one of [${DESELECTABLE.join(', ')}]`,
    javaClassName: 'org.apache.hadoop.yarn.webapp.BadRequestException',
  },
});
const omit = (app: Record<string, unknown>, names: string[]) =>
  Object.fromEntries(Object.entries(app).filter(([key]) => !names.includes(key)));

/** A full list (`list`), a question of a poll for changes (`changes`: a time filter, or the waiting apps). */
export type RestRequestKind = 'info' | 'list' | 'changes' | 'app' | 'other';

export class RestDouble {
  readonly requests: { at: number; kind: RestRequestKind }[] = [];
  private server: Server | undefined;
  private base = '';

  constructor(private readonly stateDir: string) {}

  /** Listens on 127.0.0.1; returns the RM's web address (what `yarnRest.resourceManagers` lists). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.base);
      const { status, body, kind } = this.answer(req.method ?? 'GET', url);
      this.requests.push({ at: Date.now(), kind });
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  }

  count(kind: RestRequestKind, since = 0): number {
    return this.requests.filter((r) => r.kind === kind && r.at >= since).length;
  }

  private answer(method: string, url: URL): { status: number; body: unknown; kind: RestRequestKind } {
    const path = url.pathname.replace(/\/+$/, '');
    if (method === 'GET' && path === '/ws/v1/cluster/info') {
      const apps = model.apps(this.stateDir);
      const id = Number(apps[0]?.id.split('_')[1] ?? 1700000000000);
      return {
        status: 200,
        body: { clusterInfo: { ...CLUSTER_INFO.clusterInfo, id, startedOn: id } },
        kind: 'info',
      };
    }
    if (method === 'GET' && path === '/ws/v1/cluster/apps') {
      const states = url.searchParams.get('states')?.toUpperCase().split(',');
      const deSelects = (url.searchParams.get('deSelects') ?? '').split(',').filter(Boolean);
      const unknown = deSelects.find((name) => !DESELECTABLE.includes(name));
      if (unknown !== undefined) return { status: 400, body: invalidDeSelects(unknown), kind: 'list' };
      const begin = (name: string) => Number(url.searchParams.get(name) ?? 0);
      const [started, finished] = [begin('startedTimeBegin'), begin('finishedTimeBegin')];
      const apps = model
        .apps(this.stateDir)
        .filter(
          (a) => (!states || states.includes(a.state)) && a.startTime >= started && a.finishTime >= finished,
        );
      const app = (a: model.ModelApp) => omit(this.restApp(a), deSelects);
      const body = apps.length === 0 ? { apps: {} } : { apps: { app: apps.map(app) } };
      const full =
        !url.searchParams.has('startedTimeBegin') &&
        !url.searchParams.has('finishedTimeBegin') &&
        states?.includes('RUNNING') !== false;
      return { status: 200, body, kind: full ? 'list' : 'changes' };
    }
    const one = /^\/ws\/v1\/cluster\/apps\/([^/]+)$/.exec(path);
    if (method === 'GET' && one) {
      const id = decodeURIComponent(one[1]!);
      const app = model.apps(this.stateDir).find((a) => a.id === id);
      if (app) return { status: 200, body: { app: this.restApp(app) }, kind: 'app' };
      const message = `java.lang.Exception: app with id: ${id} not found`;
      const body = {
        RemoteException: {
          exception: 'NotFoundException',
          message,
          javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException',
        },
      };
      return { status: 404, body, kind: 'app' };
    }
    return { status: 404, body: { error: `no such path: ${path}` }, kind: 'other' };
  }

  /** The recorded app of that state, with the model app's facts. */
  private restApp(app: model.ModelApp): Record<string, unknown> {
    const live = model.isLive(app.state);
    const template = app.state === 'RUNNING' ? TEMPLATE.RUNNING : live ? TEMPLATE.ACCEPTED : TEMPLATE.ENDED;
    const now = Date.now();
    const clusterId = Number(app.id.split('_')[1]);
    return {
      ...template,
      id: app.id,
      user: app.user,
      name: app.name,
      queue: app.queue,
      state: app.state,
      finalStatus: app.finalStatus,
      progress: app.progress * 100,
      ...(app.state === 'ACCEPTED' || app.state === 'SUBMITTED'
        ? {}
        : {
            trackingUrl: live ? `${this.base}/proxy/${app.id}/` : `${this.base}/cluster/app/${app.id}`,
          }),
      diagnostics: app.diagnostics,
      clusterId,
      applicationType: app.type,
      applicationTags: app.tags,
      startedTime: app.startTime,
      finishedTime: app.finishTime,
      elapsedTime: (app.finishTime || now) - app.startTime,
    };
  }
}
