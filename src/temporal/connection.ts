// Connection options for Temporal from Kappa's settings (TLS and API keys included).
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { expandHome, type TemporalConnectionSettings } from '../config/worker-config.js';

/** What both the client's Connection and the worker's NativeConnection accept. */
export interface KappaConnectionOptions {
  address: string;
  apiKey?: string;
  tls?: TLSConfig | boolean;
}

export function connectionOptions(settings: TemporalConnectionSettings): KappaConnectionOptions {
  const options: KappaConnectionOptions = { address: settings.address };
  if (settings.apiKey) options.apiKey = settings.apiKey;
  if (settings.tls === true) options.tls = true;
  else if (settings.tls) {
    const read = (path?: string) => (path ? readFileSync(expandHome(path)) : undefined);
    const cert = read(settings.tls.clientCertPath);
    const key = read(settings.tls.clientKeyPath);
    options.tls = {
      serverNameOverride: settings.tls.serverName,
      serverRootCACertificate: read(settings.tls.serverRootCACertPath),
      clientCertPair: cert && key ? { crt: cert, key } : undefined,
    };
  }
  return options;
}
