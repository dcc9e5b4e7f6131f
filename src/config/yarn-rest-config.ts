// The worker config's `hosts.<name>.yarnRest`: how an edge node reaches the ResourceManager REST API (used with
// `yarnApi: rest`, src/yarn/yarn-rest.ts).
import { z } from 'zod';
import { boundedDuration, limitsText } from './fields.js';
import { WORKER_LIMITS } from './limits.js';

/** `hosts.<name>.yarnRest`; worker-config.ts checks that it goes with `yarnApi: rest`. */
export const yarnRestSchema = z
  .strictObject({
    resourceManagers: z
      .array(
        z
          .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
          .superRefine((address, ctx) => {
            const url = parseUrl(address);
            if (!url) return; // the URL check has said so
            const problem =
              url.username || url.password
                ? 'must not hold credentials (kerberos: true uses the ticket cache instead)'
                : url.search || url.hash
                  ? 'must not have a query or fragment: the web address only (e.g. http://rm1:8088)'
                  : undefined;
            if (problem) ctx.addIssue({ code: 'custom', message: problem, input: address });
          }),
      )
      .min(1, 'must list at least one ResourceManager')
      .describe(
        "The ResourceManagers' web addresses as the edge node reaches them (e.g. `http://rm1:8088`); with HA, each of them: Kappa asks the one that answered last, follows a standby's redirect to the active one, and else tries the next.",
      ),
    via: z
      .enum(['curl', 'tunnel'])
      .default('curl')
      .describe(
        '`curl`: runs `curl` on the edge node over the SSH connection, a small process per poll. `tunnel`: a connection forwarded over the SSH connection (ssh `direct-tcpip`, needs `AllowTcpForwarding` on the edge node); nothing runs there.',
      ),
    kerberos: z
      .boolean()
      .default(false)
      .describe(
        "SPNEGO with the edge node's Kerberos ticket cache (`curl --negotiate -u :`), for a ResourceManager that requires it. Only with `via: curl`.",
      ),
    pollInterval: boundedDuration(WORKER_LIMITS.restPollInterval, { enforceMin: true })
      .default('2s')
      .describe(
        `How often the host's poller asks YARN while apps are supervised there: REST polls are cheap, so more often than apps' \`spec.yarn.pollInterval\`, which stays the longest wait. ${limitsText(WORKER_LIMITS.restPollInterval)}`,
      ),
  })
  .superRefine((rest, ctx) => {
    if (rest.kerberos && rest.via !== 'curl') {
      ctx.addIssue({
        code: 'custom',
        path: ['kerberos'],
        message: "needs via: curl (a tunnel has no Kerberos ticket; curl uses the edge node's)",
        input: rest.kerberos,
      });
    }
    const seen = new Map<string, number>();
    rest.resourceManagers.forEach((address, i) => {
      const key = parseUrl(address)?.href.replace(/\/+$/, '');
      if (key === undefined) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['resourceManagers', i],
          message: `the same address as resourceManagers[${first}]`,
          input: address,
        });
      }
    });
  });

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
