// Connection options for Temporal from Kappa's settings (TLS and API keys included), by `@temporalio/envconfig`.
import { toClientOptions, type ClientConnectConfig } from '@temporalio/envconfig';
import type { TemporalConnectionSettings } from '../config/worker-config.js';

/** What both the client's Connection and the worker's NativeConnection accept. */
export type KappaConnectionOptions = ClientConnectConfig['connectionOptions'];

/** Reads the certificate and key files the settings name. */
export function connectionOptions(settings: TemporalConnectionSettings): KappaConnectionOptions {
  return toClientOptions(settings).connectionOptions;
}
