// Following the active ResourceManager of an HA pair (or more) through their REST addresses. What a standby RM
// answers (Hadoop 3.4 RMWebAppFilter, for every path but a few such as /ws/v1/cluster/info): 307 with
// `Location: <active's web address><path>?<query>` and the body "This is standby RM. The redirect url is: …"; or,
// when it knows no active RM, 307 without Location (a `Refresh` header) and "Can not find any active RM. Will retry
// in next N seconds." So: ask the address that answered last first; follow a Location once; on a connection
// error, a standby's answer or anything not understood, ask the next; report every address's error if none answers.
//
// Right before the question, each address is asked /ws/v1/cluster/info (both in one curl): a ResourceManager serves
// REST before it has recovered its applications (ResourceManager.serviceStart starts the web app, then
// transitionToActive), and in that window it lists none and calls every id unknown. Only the answer of an RM whose
// haState was ACTIVE (or STANDBY, which redirects to an active one) is believed; the `yarn` CLI is safe there
// because the RM's RPC starts with the active services.
import { CommandTimeoutError, HostUnreachableError } from '../ssh/command-runner.js';
import { YarnUnavailableError } from './model.js';
import { parseClusterHaState } from './parse-rest.js';
import type { RestAnswer, RestTransport } from './rest-transport.js';

const CLUSTER_INFO = '/ws/v1/cluster/info';

/** What a read makes of one answer; throwing says this address did not answer usefully (try the next). */
export type ReadAnswer<T> = (answer: RestAnswer) => T;

/** The REST addresses of one edge node's ResourceManagers, and which of them answered last. */
export class ResourceManagers {
  private preferred = 0;
  private readonly bases: string[];

  constructor(
    private readonly host: string,
    resourceManagers: readonly string[],
    private readonly transport: RestTransport,
    private readonly timeoutMs: number,
  ) {
    if (resourceManagers.length === 0) throw new Error(`${host}: no ResourceManager address`);
    this.bases = resourceManagers.map(baseUrl);
  }

  /** GET `path` (from `/ws/v1/…`) from the active ResourceManager; `read` turns its answer into the result. */
  get<T>(path: string, read: ReadAnswer<T>): Promise<T> {
    return this.getAll([path], ([answer]) => read(answer!));
  }

  /** GET each of `paths` from the same active ResourceManager, in one go; `read` turns the answers into the result. */
  async getAll<T>(paths: string[], read: (answers: RestAnswer[]) => T): Promise<T> {
    const problems: string[] = [];
    for (let k = 0; k < this.bases.length; k++) {
      const index = (this.preferred + k) % this.bases.length;
      const base = this.bases[index]!;
      try {
        const { value, answeredBy } = await this.ask(base, paths, read);
        const known = this.bases.findIndex((b) => sameOrigin(b, answeredBy));
        this.preferred = known >= 0 ? known : index;
        return value;
      } catch (err) {
        if (err instanceof HostUnreachableError || err instanceof CommandTimeoutError) {
          // The edge node itself does not answer: the other addresses would not either, and it is not their fault.
          throw new YarnUnavailableError(`${this.host}: ${err.message}`);
        }
        problems.push(`${base}: ${(err as Error).message}`);
      }
    }
    throw new YarnUnavailableError(
      `no ResourceManager answered through ${this.host}: ${problems.join('; ')}`,
    );
  }

  private async ask<T>(
    base: string,
    paths: string[],
    read: (answers: RestAnswer[]) => T,
  ): Promise<{ value: T; answeredBy: string }> {
    // All in one go (one curl); the answers count only if the RM said it was ready just before.
    const urls = paths.map((path) => `${base}${path}`);
    const [info, ...answers] = await this.transport.getEach(
      this.host,
      [`${base}${CLUSTER_INFO}`, ...urls],
      this.timeoutMs,
    );
    if (!info || answers.length !== urls.length) throw new Error('fewer answers than questions');
    if (info instanceof Error) throw info;
    if (info.status !== 200) throw new Error(`${CLUSTER_INFO}: ${httpProblem(info).message}`);
    const haState = parseClusterHaState(info.body);
    if (haState !== 'ACTIVE' && haState !== 'STANDBY') {
      throw new Error(`not ready: haState ${haState} (starting, its applications not recovered yet)`);
    }
    const answered: RestAnswer[] = [];
    for (const answer of answers) {
      if (answer instanceof Error) throw answer;
      answered.push(answer);
    }
    if (!answered.some((answer) => isRedirect(answer.status))) {
      return { value: read(answered), answeredBy: urls[0]! };
    }
    // A standby sends every question to the active RM: each is followed there, once.
    const targets = answered.map((answer, i) => {
      if (!isRedirect(answer.status) || !answer.location) {
        throw new Error(
          `HTTP ${answer.status}, no active ResourceManager known there: ${excerpt(answer.body)}`,
        );
      }
      return new URL(answer.location, urls[i]).href;
    });
    const where =
      targets.length === 1 ? targets[0]! : `${new URL(targets[0]!).origin} (${targets.length} questions)`;
    let followed: (RestAnswer | Error)[];
    try {
      followed = await this.transport.getEach(this.host, targets, this.timeoutMs);
    } catch (err) {
      if (err instanceof HostUnreachableError || err instanceof CommandTimeoutError) throw err;
      throw new Error(`redirected to ${where}: ${(err as Error).message}`);
    }
    const next: RestAnswer[] = [];
    for (const answer of followed) {
      if (answer instanceof Error) throw new Error(`redirected to ${where}: ${answer.message}`);
      if (isRedirect(answer.status)) {
        throw new Error(`redirected to ${where}, which redirects again (HTTP ${answer.status})`);
      }
      next.push(answer);
    }
    try {
      return { value: read(next), answeredBy: targets[0]! };
    } catch (err) {
      throw new Error(`redirected to ${where}: ${(err as Error).message}`);
    }
  }
}

/** An answer that is not 200 (and not what `read` expects otherwise), as one address's error. */
export function httpProblem(answer: RestAnswer): Error {
  return new Error(`HTTP ${answer.status}: ${excerpt(answer.body)}`);
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The configured address without a trailing slash, so `${base}/ws/v1/…` is right with or without one. */
function baseUrl(address: string): string {
  return address.replace(/\/+$/, '');
}

function sameOrigin(base: string, url: string): boolean {
  try {
    const a = new URL(base);
    const b = new URL(url);
    return a.origin === b.origin && b.pathname.startsWith(a.pathname.replace(/\/+$/, ''));
  } catch {
    return false;
  }
}

function excerpt(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, ' ');
  return JSON.stringify(oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine);
}
