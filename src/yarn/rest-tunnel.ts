// A REST request to a ResourceManager over a TCP connection the edge node's sshd opens for us (ssh2 forwardOut):
// nothing runs on the edge node. Plain HTTP/1.1 GET with node's http client on the forwarded stream; https wraps
// the stream in TLS first (the server's certificate is checked as usual).
import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { HostUnreachableError, MAX_OUTPUT_BYTES } from '../ssh/command-runner.js';
import type { RestAnswer, RestTransport } from './rest-transport.js';

/** Opens a TCP connection from `host` to `targetHost:targetPort` (SshPool.forwardOut). */
export type ForwardOut = (host: string, targetHost: string, targetPort: number) => Promise<Duplex>;

/** GETs through a forwarded connection, one per request. */
export class TunnelTransport implements RestTransport {
  constructor(private readonly forward: ForwardOut) {}

  /** One after the other, each over its own forwarded connection. */
  async getEach(host: string, urls: string[], timeoutMs: number): Promise<(RestAnswer | Error)[]> {
    const answers: (RestAnswer | Error)[] = [];
    for (const url of urls) {
      try {
        answers.push(await this.get(host, url, timeoutMs));
      } catch (err) {
        if (err instanceof HostUnreachableError) throw err;
        answers.push(err as Error);
      }
    }
    return answers;
  }

  async get(host: string, url: string, timeoutMs: number): Promise<RestAnswer> {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const port = Number(target.port || (https ? 443 : 80));
    const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const deadline = Date.now() + timeoutMs;
    const stream = await withTimeout(this.forward(host, hostname, port), timeoutMs, (s) => s.destroy());
    try {
      // The certificate is checked against the URL's host (node sends it as SNI unless it is an address).
      const socket = https ? tlsConnect({ socket: stream, host: hostname }) : asSocket(stream);
      return await get(socket, target, Math.max(1, deadline - Date.now()));
    } finally {
      stream.destroy();
    }
  }
}

function get(socket: Duplex, target: URL, timeoutMs: number): Promise<RestAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      method: 'GET',
      host: target.hostname,
      port: target.port,
      path: `${target.pathname}${target.search}`,
      headers: { Accept: 'application/json', Host: target.host },
      createConnection: () => socket,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) req.destroy(new Error(`answer larger than ${MAX_OUTPUT_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.once('end', () => {
        clearTimeout(timer);
        const location = res.headers.location;
        resolve({
          status: res.statusCode ?? 0,
          ...(location ? { location: new URL(location, target).href } : {}),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end();
  });
}

/** What node's http client calls on a socket that an SSH channel does not have: nothing to do for them. */
function asSocket(stream: Duplex): Duplex {
  const socket = stream as Duplex & Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof socket[name] !== 'function') socket[name] = () => socket;
  }
  return socket;
}

/** `promise`, or a rejection after `ms` (a stream that arrives late is ended with `dispose`). */
function withTimeout<T>(promise: Promise<T>, ms: number, dispose: (value: T) => void): Promise<T> {
  let timedOut = false;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      // sshd answers a forwarding request once its connect() is done: a silent ResourceManager, not the edge node.
      reject(new Error(`no connection within ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) dispose(value);
        else resolve(value);
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
