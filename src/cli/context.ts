// What every command gets: the worker config, Temporal settings and a lazily opened client.
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { workflowId } from '../common/temporal-names.js';
import {
  loadWorkerConfig,
  temporalSettings,
  type TemporalConnectionSettings,
  type WorkerConfig,
} from '../config/worker-config.js';
import { connectionOptions } from '../temporal/connection.js';
import { appWorkflowHandle } from './app-status.js';
import { CliError, ExitCode } from './errors.js';

export interface GlobalOptions {
  workerConfig?: string;
  address?: string;
  namespace?: string;
}

export class CliContext {
  private clientPromise: Promise<Client> | undefined;
  private connection: Connection | undefined;
  private loaded: WorkerConfig | undefined;
  private resolved: TemporalConnectionSettings | undefined;

  constructor(private readonly options: GlobalOptions) {}

  get workerConfig(): WorkerConfig {
    this.loaded ??= loadWorkerConfig(this.options.workerConfig);
    return this.loaded;
  }

  /** The worker config only if a file is there: `validate` checks host names against it then. */
  get explicitOrDefaultWorkerConfigHosts(): string[] | undefined {
    try {
      const config = this.workerConfig;
      return Object.keys(config.hosts).length > 0 ? Object.keys(config.hosts) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolved once; the precedence of flags, TEMPORAL_* variables, profiles and the file is temporalSettings'. */
  get settings(): TemporalConnectionSettings {
    if (!this.resolved) {
      const config = this.workerConfig;
      try {
        this.resolved = temporalSettings(config, {
          address: this.options.address,
          namespace: this.options.namespace,
        });
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.usage);
      }
    }
    return this.resolved;
  }

  client(): Promise<Client> {
    this.clientPromise ??= (async () => {
      const settings = this.settings;
      try {
        this.connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: 5_000 });
      } catch (err) {
        throw new CliError(`cannot reach Temporal at ${settings.address}: ${(err as Error).message}`);
      }
      return new Client({ connection: this.connection, namespace: settings.namespace });
    })();
    return this.clientPromise;
  }

  /**
   * A handle on an app's workflow: `kappa/<app>`, or for a BatchJob its newest scheduled run. Unknown apps are a
   * CliError (exit 1).
   */
  async appHandle(app: string) {
    const client = await this.client();
    let handle = appWorkflowHandle(client, workflowId(app));
    try {
      return { handle, description: await handle.describe() };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    let newest: { workflowId: string; runId: string; startTime: Date } | undefined;
    for await (const wf of client.workflow.list({ query: `KappaApp = '${app.replace(/'/g, '')}'` })) {
      if (!newest || wf.startTime > newest.startTime) newest = wf;
    }
    if (!newest) throw new CliError(`unknown app "${app}" (no workflow ${workflowId(app)})`);
    handle = appWorkflowHandle(client, newest.workflowId, newest.runId);
    return { handle, description: await handle.describe() };
  }

  async close(): Promise<void> {
    await this.connection?.close();
  }
}
