// Stands in for a STANDBY ResourceManager's web port, the one thing the single-RM MiniYARNCluster of the real tier
// cannot show (it has no HA pair). It answers every request exactly as Hadoop 3.4's RMWebAppFilter.doFilter answers
// on a standby RM (read from hadoop-yarn-server-resourcemanager 3.4.1; the same in trunk), for any path but the few
// it exempts (/ws/v1/cluster/info, /cluster, /proxy/…, /conf, /jmx, …), which Kappa never asks:
//   - knowing the active RM: status 307, `Location: <active's web address><path>?<query>`, and the body
//     "This is standby RM. The redirect url is: <path>?<query>" plus a newline (PrintWriter.println);
//   - knowing none: status 307 without Location, `Refresh: <N>;url=<own address><path>?<query>&next.refresh.interval=1`
//     (N is 5 s × 0.5–1.5, at random), and the body "Can not find any active RM. Will retry in next N seconds." and
//     "HA Zookeeper Connection State: <state>" on two lines.
// The path in the body is HTML-escaped by the RM; Kappa's paths have nothing to escape. /ws/v1/cluster/info, which the
// filter lets through, is RMWebServices.getClusterInfo's JSON on a standby: the real (active) RM's answer, given by
// the test, with `"haState":"STANDBY"`. Nothing else is imitated.
// Listens on 127.0.0.1 only, and counts the requests it gets (with their User-Agent, to tell curl from a tunnel).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class StandbyRm {
  private server: Server | undefined;
  /** Every request's path and query, and its User-Agent. */
  readonly requests: { url: string; userAgent: string | undefined }[] = [];

  /**
   * `clusterInfo`: a real RM's /ws/v1/cluster/info answer (its haState becomes STANDBY); `active`: the active RM's
   * web address the standby redirects to; none: a standby that knows no active RM.
   */
  constructor(
    private readonly clusterInfo: string,
    private readonly active?: string,
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('StandbyRm not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const uriWithQuery = req.url ?? '/';
      this.requests.push({ url: uriWithQuery, userAgent: req.headers['user-agent'] });
      if (uriWithQuery.split('?')[0] === '/ws/v1/cluster/info') {
        res.setHeader('Content-Type', 'application/json;charset=utf-8');
        res.end(this.clusterInfo.replace(/"haState":"\w+"/, '"haState":"STANDBY"'));
        return;
      }
      if (this.active) {
        res.setHeader('Location', `${this.active}${uriWithQuery}`);
        res.statusCode = 307;
        res.end(`This is standby RM. The redirect url is: ${uriWithQuery}\n`);
        return;
      }
      const next = Math.trunc(5 * (Math.random() + 0.5));
      const separator = uriWithQuery.includes('?') ? '&' : '?';
      res.setHeader('Refresh', `${next};url=${this.url}${uriWithQuery}${separator}next.refresh.interval=1`);
      res.statusCode = 307;
      res.end(
        `Can not find any active RM. Will retry in next ${next} seconds.\nHA Zookeeper Connection State: CONNECTED\n`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
