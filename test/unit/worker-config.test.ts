// Temporal connection settings: CLI flags > TEMPORAL_* variables > a temporal.toml profile > the worker config's
// `temporal:` section > defaults; the environment and profiles are read the way the `temporal` CLI reads them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { temporalSettings, workerConfigSchema } from '../../src/config/worker-config.js';
import { connectionOptions } from '../../src/temporal/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'kappa-worker-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOML = join(dir, 'temporal.toml');
writeFileSync(
  TOML,
  `[profile.default]
address = "default-profile:7233"
namespace = "default-profile-ns"

[profile.cloud]
address = "cloud.example.com:7233"
namespace = "cloud-ns"
api_key = "profile-key"
`,
);
const CA = join(dir, 'ca.pem');
const CERT = join(dir, 'client.pem');
const KEY = join(dir, 'client.key');
writeFileSync(CA, 'ca');
writeFileSync(CERT, 'cert');
writeFileSync(KEY, 'key');

const config = (temporal: object = {}) => workerConfigSchema.parse({ temporal });
const fileConfig = config({ address: 'file:7233', namespace: 'file-ns', taskQueue: 'q' });

describe('temporal connection settings', () => {
  test('defaults without a file, variables or profile', () => {
    const settings = temporalSettings(config(), {}, {});
    assert.deepEqual(settings, { address: 'localhost:7233', namespace: 'default', taskQueue: 'kappa' });
    assert.deepEqual(connectionOptions(settings), {
      address: 'localhost:7233',
      apiKey: undefined,
      tls: undefined,
      metadata: undefined,
    });
  });

  test('the worker config over the defaults; the task queue only from it', () => {
    const settings = temporalSettings(
      fileConfig,
      {},
      { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'cloud' },
    );
    assert.equal(settings.taskQueue, 'q');
    assert.deepEqual(
      (({ address, namespace }) => ({ address, namespace }))(temporalSettings(fileConfig, {}, {})),
      { address: 'file:7233', namespace: 'file-ns' },
    );
  });

  test('a temporal.toml profile over the worker config', () => {
    const byDefault = temporalSettings(fileConfig, {}, { TEMPORAL_CONFIG_FILE: TOML });
    assert.equal(byDefault.address, 'default-profile:7233');
    assert.equal(byDefault.namespace, 'default-profile-ns');
    const cloud = temporalSettings(fileConfig, {}, { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'cloud' });
    assert.equal(cloud.address, 'cloud.example.com:7233');
    assert.equal(cloud.apiKey, 'profile-key');
    assert.equal(connectionOptions(cloud).tls, true, 'an API key turns TLS on');
  });

  test(
    'the default temporal.toml is found as the temporal CLI finds it',
    { skip: process.platform !== 'linux' },
    () => {
      const home = join(dir, 'home');
      const xdg = join(home, '.config', 'temporalio');
      assert.equal(temporalSettings(fileConfig, {}, { HOME: home }).address, 'file:7233', 'no file: none');
      mkdirSync(xdg, { recursive: true });
      writeFileSync(join(xdg, 'temporal.toml'), '[profile.default]\naddress = "home-profile:7233"\n');
      assert.equal(temporalSettings(fileConfig, {}, { HOME: home }).address, 'home-profile:7233');
    },
  );

  test('TEMPORAL_* variables over the profile and the worker config; CLI flags over everything', () => {
    const env = {
      TEMPORAL_CONFIG_FILE: TOML,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_ADDRESS: 'env:7233',
      TEMPORAL_NAMESPACE: 'env-ns',
      TEMPORAL_API_KEY: 'env-key',
    };
    const fromEnv = temporalSettings(fileConfig, {}, env);
    assert.deepEqual((({ address, namespace, apiKey }) => ({ address, namespace, apiKey }))(fromEnv), {
      address: 'env:7233',
      namespace: 'env-ns',
      apiKey: 'env-key',
    });
    const fromFlags = temporalSettings(fileConfig, { address: 'flag:7233', namespace: 'flag-ns' }, env);
    assert.equal(fromFlags.address, 'flag:7233');
    assert.equal(fromFlags.namespace, 'flag-ns');
    assert.equal(fromFlags.apiKey, 'env-key');
  });

  test('empty TEMPORAL_* variables count as unset', () => {
    const settings = temporalSettings(fileConfig, {}, { TEMPORAL_ADDRESS: '', TEMPORAL_API_KEY: '' });
    assert.equal(settings.address, 'file:7233');
    assert.equal(settings.apiKey, undefined);
    assert.equal(connectionOptions(settings).tls, undefined);
  });

  test('an unknown TEMPORAL_PROFILE is an error that names the variables', () => {
    assert.throws(
      () => temporalSettings(fileConfig, {}, { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'nope' }),
      /TEMPORAL_PROFILE.*Profile 'nope' not found/,
    );
  });

  test('TLS: the worker config, overridden field by field by TEMPORAL_TLS_*; files read, ~ expanded', () => {
    const withTls = config({
      tls: {
        serverName: 'file-name',
        serverRootCACertPath: CA,
        clientCertPath: '~/client.pem',
        clientKeyPath: KEY,
      },
    });
    const settings = temporalSettings(withTls, {}, { TEMPORAL_TLS_CLIENT_CERT_PATH: CERT });
    assert.deepEqual(settings.tls, {
      serverName: 'file-name',
      serverCACert: { path: CA },
      clientCert: { path: CERT },
      clientKey: { path: KEY },
    });
    const tls = connectionOptions(settings).tls;
    assert.ok(tls && typeof tls === 'object');
    assert.equal(tls.serverNameOverride, 'file-name');
    assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), 'ca');
    assert.equal(Buffer.from(tls.clientCertPair!.crt).toString(), 'cert');
    assert.equal(Buffer.from(tls.clientCertPair!.key).toString(), 'key');
    assert.deepEqual(temporalSettings(withTls, {}, {}).tls?.clientCert, {
      path: join(homedir(), 'client.pem'),
    });
  });

  test('TLS switches: TEMPORAL_TLS=true alone turns it on, TEMPORAL_TLS=false turns an API key’s TLS off', () => {
    const on = connectionOptions(temporalSettings(config(), {}, { TEMPORAL_TLS: 'true' })).tls;
    assert.ok(on === true || (typeof on === 'object' && on !== null && on.clientCertPair === undefined));
    assert.equal(connectionOptions(temporalSettings(config(), {}, { TEMPORAL_API_KEY: 'k' })).tls, true);
    assert.equal(
      connectionOptions(temporalSettings(config(), {}, { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' })).tls,
      false,
    );
    assert.equal(connectionOptions(temporalSettings(config(), {}, {})).tls, undefined);
  });
});
