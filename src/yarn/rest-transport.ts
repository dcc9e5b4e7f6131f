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
 * GETs URLs as the edge node `host` reaches them. Rejects with HostUnreachableError (or a CommandTimeoutError) when
 * the edge node itself cannot be reached or does not answer — nothing is known about the ResourceManager then — and
 * with any other Error when the ResourceManager at `url` does not answer.
 */
export interface RestTransport {
  get(host: string, url: string, timeoutMs: number): Promise<RestAnswer>;
  /**
   * GETs `urls` one after the other, in one go where the transport can (one curl for all), each `timeoutMs` at
   * most: each answer, or the Error of that URL. Rejects only as `get` does for the edge node.
   */
  getEach(host: string, urls: string[], timeoutMs: number): Promise<(RestAnswer | Error)[]>;
}

export interface CurlOptions {
  /** SPNEGO with the edge node's Kerberos ticket cache (`--negotiate -u :`). */
  negotiate?: boolean;
}

/** curl ends itself at the timeout; the SSH command gets this much longer, so curl's own message is the one seen. */
const SESSION_MARGIN_MS = 2_000;

/** What curl writes after each transfer (`--write-out`): its status code, then where a redirect would go. */
const TRAILER = /\n<kappa-http (\d{3}) ?([^\s>]*)>\n/;

/** `curl` run on the edge node through the CommandRunner: one small process for the URLs of one question. */
export class CurlTransport implements RestTransport {
  constructor(
    private readonly runner: CommandRunner,
    private readonly options: CurlOptions = {},
  ) {}

  async get(host: string, url: string, timeoutMs: number): Promise<RestAnswer> {
    const [answer] = await this.getEach(host, [url], timeoutMs);
    if (answer instanceof Error) throw answer;
    return answer!;
  }

  async getEach(host: string, urls: string[], timeoutMs: number): Promise<(RestAnswer | Error)[]> {
    for (const url of urls) {
      if (!/^https?:\/\//.test(url)) throw new Error(`not an http(s) URL: ${url}`); // never an option to curl
    }
    const result = await this.runner.run(host, shellJoin(curlArgv(urls, timeoutMs, this.options)), {
      timeoutMs: urls.length * timeoutMs + SESSION_MARGIN_MS,
    });
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n')[0] || 'no output';
    // The shell could not run curl at all: that is the edge node's problem, not the ResourceManager's.
    if (result.code === 126 || result.code === 127) throw new HostUnreachableError(`${host}: ${why}`);
    const parts = result.stdout.split(new RegExp(TRAILER.source));
    const transfers = (parts.length - 1) / 3;
    if (transfers !== urls.length) {
      // curl refused its arguments, or died: the same error for every URL.
      const error = new Error(
        result.code === 0 ? `curl printed ${transfers} status lines for ${urls.length} URLs` : why,
      );
      return urls.map(() => error);
    }
    // A transfer without an answer (status 000) has its error on stderr, in the order of the URLs.
    const errors = result.stderr.match(/^curl: \(\d+\).*$/gm) ?? [];
    return urls.map((_url, i) => {
      const [body, code, location] = parts.slice(i * 3, i * 3 + 3);
      const status = Number(code);
      if (status === 0) return new Error(errors.shift() ?? 'curl got no HTTP answer');
      return { status, ...(location ? { location } : {}), body: body ?? '' };
    });
  }
}

/** The curl command line for GETs (no secret in it: SPNEGO takes the ticket cache, `-u :` is empty). */
export function curlArgv(urls: string[], timeoutMs: number, options: CurlOptions = {}): string[] {
  return [
    'curl',
    '--silent',
    '--show-error',
    '--max-time',
    String(timeoutMs / 1000),
    '--header',
    'Accept: application/json',
    '--write-out',
    '\\n<kappa-http %{http_code} %{redirect_url}>\\n',
    ...(options.negotiate ? ['--negotiate', '--user', ':'] : []),
    ...urls,
  ];
}
