// The `service` step kind: a long-running server (a model server) as a Kubernetes Deployment behind a ClusterIP
// Service, whose in-cluster address later steps can use (`${steps.<name>.url}`, src/config/step-refs.ts).
// src/kubernetes/service-manifest.ts builds the objects from it.
import { z } from 'zod';
import {
  appDuration,
  containerFields,
  podSecurityContextSchema,
  securityContextSchema,
  securityProfileSchema,
  withLimits,
} from './container-fields.js';
import { dns1123Label, dns1123Subdomain } from './fields.js';
import { APP_DURATION_LIMITS as LIMITS } from './limits.js';

/** The most replicas a service step may ask for: a model behind a Spark job, not a fleet. */
export const MAX_SERVICE_REPLICAS = 50;

const portNumber = z.int().min(1).max(65535, 'expected number <= 65535');

/** The readiness probe's port: the container's `port` unless given. */
const probePort = portNumber.optional().describe("Default: the service step's `port`.");

export const readinessProbeSchema = z
  .strictObject({
    httpGet: z
      .strictObject({
        path: z
          .string()
          .regex(/^\/\S*$/, 'must be an absolute path such as /healthz')
          .default('/')
          .describe('The path to GET; ready on a status from 200 to 399.'),
        port: probePort,
      })
      .optional()
      .describe('Ready when an HTTP GET on the pod answers 2xx or 3xx.'),
    tcpSocket: z
      .strictObject({ port: probePort })
      .optional()
      .describe('Ready when a TCP connection to the port opens.'),
    exec: z
      .strictObject({
        command: z
          .array(z.string())
          .min(1, 'must not be empty')
          .describe('argv, run in the container (no shell unless you run one).'),
      })
      .optional()
      .describe('Ready when the command exits 0.'),
    initialDelay: appDuration(LIMITS.probeInitialDelay)
      .optional()
      .describe(
        withLimits(
          'The wait after the container starts before the first probe (rounded up to whole seconds); default: none.',
          LIMITS.probeInitialDelay,
        ),
      ),
    period: appDuration(LIMITS.probePeriod)
      .default('10s')
      .describe(withLimits('How often to probe (rounded up to whole seconds).', LIMITS.probePeriod)),
    failureThreshold: z
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe('Failed probes in a row that take a ready replica out of the Service.'),
  })
  .superRefine((probe, ctx) => {
    const kinds = [probe.httpGet, probe.tcpSocket, probe.exec].filter((k) => k !== undefined).length;
    if (kinds !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a readiness probe needs exactly one of: httpGet, tcpSocket, exec',
      });
    }
  });

export const serviceStepSchema = z.strictObject({
  namespace: dns1123Label
    .optional()
    .describe(
      "The Deployment's and Service's namespace; default: the worker config's `kubernetes.namespace`.",
    ),
  serviceAccount: dns1123Subdomain
    .optional()
    .describe(
      "The service account the server's pods run as; default: the worker config's `kubernetes.serviceAccount`. Its token is not mounted.",
    ),
  ...containerFields,
  image: containerFields.image.describe(
    "The server's image, as the kubelet parses it: `[registry[:port]/]name[:tag][@digest]`.",
  ),
  command: containerFields.command.describe(
    "The server's entrypoint (argv); default: the image's. May use earlier service steps' `${steps.<name>.url|host|port}`.",
  ),
  args: containerFields.args.describe(
    "The server's arguments. May use earlier service steps' `${steps.<name>.url|host|port}`.",
  ),
  env: containerFields.env.describe(
    "Environment variables (values are strings; secret-looking names are refused: use `secretEnv`). Values may use earlier service steps' `${steps.<name>.url|host|port}`.",
  ),
  securityContext: securityContextSchema.describe(
    "The server container's `securityContext` (Kubernetes' fields of that name); it overrides `podSecurityContext`.",
  ),
  podSecurityContext: podSecurityContextSchema,
  securityProfile: securityProfileSchema.describe(
    "The Pod Security Standard the server's pods must meet, as for pod steps: `restricted` fills in what it requires where not set and refuses settings that break it; `baseline` only refuses. Default: neither.",
  ),
  replicas: z
    .int()
    .min(1)
    .max(MAX_SERVICE_REPLICAS, `expected number <= ${MAX_SERVICE_REPLICAS}`)
    .default(1)
    .describe('Pods serving the model; the Service spreads requests over the ready ones.'),
  port: portNumber.describe(
    'The port the server listens on in the container (named `http`); the Service exposes the same port, and `${steps.<name>.port}` is it.',
  ),
  readinessProbe: readinessProbeSchema
    .optional()
    .describe(
      'When a replica counts as ready (receives traffic, and counts towards Available). Exactly one of `httpGet`, `tcpSocket`, `exec`. Default: a TCP connection to `port`, every 10s.',
    ),
  timeout: appDuration(LIMITS.serviceStepTimeout)
    .default('5m')
    .describe(
      withLimits(
        "How long the step waits for the Deployment to be Available with this revision's pods (also its `progressDeadlineSeconds`); then it fails with the pods' reason.",
        LIMITS.serviceStepTimeout,
      ),
    ),
  unavailableTimeout: appDuration(LIMITS.serviceUnavailableTimeout)
    .default('1m')
    .describe(
      withLimits(
        'While the app is supervised: the service unavailable (no ready replica) longer than this makes the app `Degraded`, with the reason; the stream is not restarted for it.',
        LIMITS.serviceUnavailableTimeout,
      ),
    ),
});

/** A service step with its defaults filled in. */
export type ServiceStep = z.output<typeof serviceStepSchema>;
/** A readiness probe as written, defaults filled in. */
export type ReadinessProbe = z.output<typeof readinessProbeSchema>;
