// How a REST request to a ResourceManager gets there: always through the edge node, since that is where the
// cluster's network (and Kerberos tickets) are. `curl` on the edge node (here), or a connection forwarded over the
// SSH session (rest-tunnel.ts).
import { shellJoin } from '../common/shell-quote.js';
import { HostUnreachableError, type CommandRunner } from '../ssh/command-runner.js';

/** An HTTP answer: the status, the redirect target if any (absolute), the body. */
export interface RestAnswer {
  status: number;
  location?: string;
  body: string;
}

/**
 * GETs a URL as the edge node `host` reaches it. Rejects with HostUnreachableError (or a CommandTimeoutError)
 * when the edge node itself cannot be reached or does not answer — nothing is known about the ResourceManager
 * then — and with any other Error when the ResourceManager at `url` does not answer.
 */
export interface RestTransport {
  get(host: string, url: string, timeoutMs: number): Promise<RestAnswer>;
}

export interface CurlOptions {
  /** SPNEGO with the edge node's Kerberos ticket cache (`--negotiate -u :`). */
  negotiate?: boolean;
}

/** curl ends itself at the timeout; the SSH command gets this much longer, so curl's own message is the one seen. */
const SESSION_MARGIN_MS = 2_000;

/** The status line curl appends after the body (`-w`): status code, then where a redirect would go. */
const TRAILER = /\n(\d{3}) ?(\S*)\s*$/;

/** `curl` run on the edge node through the CommandRunner: one small process per request. */
export class CurlTransport implements RestTransport {
  constructor(
    private readonly runner: CommandRunner,
    private readonly options: CurlOptions = {},
  ) {}

  async get(host: string, url: string, timeoutMs: number): Promise<RestAnswer> {
    if (!/^https?:\/\//.test(url)) throw new Error(`not an http(s) URL: ${url}`); // never an option to curl
    const result = await this.runner.run(host, shellJoin(curlArgv(url, timeoutMs, this.options)), {
      timeoutMs: timeoutMs + SESSION_MARGIN_MS,
    });
    if (result.code !== 0) {
      const why = (result.stderr.trim() || result.stdout.trim()).split('\n')[0] || 'no output';
      // The shell could not run curl at all: that is the edge node's problem, not the ResourceManager's.
      if (result.code === 126 || result.code === 127) throw new HostUnreachableError(`${host}: ${why}`);
      throw new Error(why);
    }
    const trailer = TRAILER.exec(result.stdout);
    if (!trailer)
      throw new Error(`curl printed no status line: ${JSON.stringify(result.stdout.slice(-200))}`);
    const status = Number(trailer[1]);
    if (status === 0) throw new Error('curl got no HTTP answer');
    return {
      status,
      ...(trailer[2] ? { location: trailer[2] } : {}),
      body: result.stdout.slice(0, trailer.index),
    };
  }
}

/** The curl command line for one GET (no secret in it: SPNEGO takes the ticket cache, `-u :` is empty). */
export function curlArgv(url: string, timeoutMs: number, options: CurlOptions = {}): string[] {
  return [
    'curl',
    '--silent',
    '--show-error',
    '--max-time',
    String(timeoutMs / 1000),
    '--header',
    'Accept: application/json',
    '--write-out',
    '\\n%{http_code} %{redirect_url}',
    ...(options.negotiate ? ['--negotiate', '--user', ':'] : []),
    url,
  ];
}
