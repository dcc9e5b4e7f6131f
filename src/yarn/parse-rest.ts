// Parsing what the ResourceManager's REST API answers (Hadoop 3.x RMWebServices, JSON): the same YarnAppReport
// the `yarn application` CLI gives, so supervision cannot tell which way a host was read. Pure: text in, data out.
import type { YarnAppReport } from './model.js';
import { YarnOutputError } from './parse.js';

const APP_ID_EXACT = /^application_\d+_\d+$/;

/**
 * `GET /ws/v1/cluster/apps?states=…`: `{"apps":{"app":[…]}}`, or `{"apps":null}` when none matches. Like the
 * CLI's `-list` rows, the reports carry no diagnostics (those come with one app's report).
 */
export function parseRestAppList(body: string): YarnAppReport[] {
  const json = parseJson(body);
  if (!isObject(json) || !('apps' in json)) throw new YarnOutputError(`no "apps" in: ${excerpt(body)}`);
  if (json.apps === null) return [];
  if (!isObject(json.apps)) throw new YarnOutputError(`"apps" is not an object: ${excerpt(body)}`);
  const apps = json.apps.app ?? [];
  if (!Array.isArray(apps)) throw new YarnOutputError(`"apps.app" is not a list: ${excerpt(body)}`);
  return apps.map((app) => {
    const report = toReport(app, body);
    delete report.diagnostics;
    return report;
  });
}

/** `GET /ws/v1/cluster/apps/{id}`: `{"app":{…}}`. */
export function parseRestApp(body: string): YarnAppReport {
  const json = parseJson(body);
  if (!isObject(json) || !('app' in json)) throw new YarnOutputError(`no "app" in: ${excerpt(body)}`);
  return toReport(json.app, body);
}

/**
 * Whether a 404's body is RMWebServices saying it does not know the application (its NotFoundException as a
 * RemoteException), rather than a 404 from anything else (a proxy, a web app without the REST API).
 */
export function isRestAppNotFound(body: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  const remote = isObject(json) ? json.RemoteException : undefined;
  return isObject(remote) && remote.exception === 'NotFoundException';
}

/**
 * A 400 for a `deSelects` name the ResourceManager does not know (`BadRequestException: Invalid deSelects string …`):
 * releases before Hadoop 3.2 know fewer names than Kappa asks to leave out.
 */
export function isRestInvalidDeSelects(status: number, body: string): boolean {
  return status === 400 && body.includes('Invalid deSelects string');
}

/**
 * `GET /ws/v1/cluster/info`'s `haState`: ACTIVE, STANDBY, or INITIALIZING while a ResourceManager starts. A
 * standby answers this path itself (no redirect), as does an RM that is still recovering its applications.
 */
export function parseClusterHaState(body: string): string {
  const json = parseJson(body);
  const info = isObject(json) ? json.clusterInfo : undefined;
  const haState = isObject(info) ? info.haState : undefined;
  if (typeof haState !== 'string' || haState === '') {
    throw new YarnOutputError(`no "clusterInfo.haState" in: ${excerpt(body)}`);
  }
  return haState;
}

function toReport(app: unknown, body: string): YarnAppReport {
  if (!isObject(app)) throw new YarnOutputError(`an application that is not an object in: ${excerpt(body)}`);
  const { id, name, state, finalStatus, diagnostics, trackingUrl } = app;
  if (typeof id !== 'string' || !APP_ID_EXACT.test(id) || typeof state !== 'string' || state === '') {
    throw new YarnOutputError(`incomplete application report: ${excerpt(JSON.stringify(app))}`);
  }
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  return {
    id,
    name: typeof name === 'string' ? name : '',
    state,
    finalStatus: text(finalStatus) || 'UNDEFINED',
    ...(text(diagnostics) ? { diagnostics: text(diagnostics) } : {}),
    // The REST API leaves the tracking URL out until the AM registers (the CLI says N/A or the proxy's address).
    ...(text(trackingUrl) ? { trackingUrl: text(trackingUrl) } : {}),
  };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new YarnOutputError(`not JSON: ${excerpt(body)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function excerpt(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, ' ');
  return JSON.stringify(oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine);
}
