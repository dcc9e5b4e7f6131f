// Reading app configs from files and directories.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from './app-config.js';
import { validateAppConfig, type RuleContext } from './validate-app.js';
import { ConfigError, parseYaml, readYamlFile, type LocatedIssue, type YamlSource } from './yaml-source.js';

export interface LoadedApp {
  file: string;
  config: AppConfig;
}

/**
 * Loads and validates one app config file, as `kappa validate` and `kappa deploy` do: with the minimums
 * (RuleContext.minimums). Throws ConfigError naming file, line, column and path.
 */
export function loadAppFile(file: string, context: RuleContext = {}): LoadedApp {
  return loadAppSource(readYamlFile(file), context);
}

/** loadAppFile on a text already read; `file` names it in errors. */
export function loadAppText(file: string, text: string, context: RuleContext = {}): LoadedApp {
  return loadAppSource(parseYaml(file, text), context);
}

/** With the minimums (RuleContext.minimums) unless `context` turns them off. */
function loadAppSource(source: YamlSource, context: RuleContext): LoadedApp {
  const result = validateAppConfig(source.value, { minimums: true, ...context });
  if (!result.ok) throw new ConfigError(result.issues.map((issue) => source.locate(issue)));
  return { file: source.file, config: result.config };
}

/** Expands directories into their `.yaml`/`.yml` files, sorted, so `kappa validate config/apps` works. */
export function expandConfigPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // Not there: loadAppFile reports it with the file's name.
    }
    if (isDir) {
      files.push(
        ...readdirSync(path)
          .filter((name) => /\.ya?ml$/.test(name))
          .sort()
          .map((name) => join(path, name)),
      );
    } else {
      files.push(path);
    }
  }
  return files;
}

export interface LoadResult {
  apps: LoadedApp[];
  issues: LocatedIssue[];
}

/**
 * Loads several files, collecting every problem instead of stopping at the first, and checks what only a set
 * of files can get wrong: two files claiming one app name or one YARN application.
 */
export function loadAppFiles(files: readonly string[], context: RuleContext = {}): LoadResult {
  const apps: LoadedApp[] = [];
  const issues: LocatedIssue[] = [];
  for (const file of files) {
    try {
      apps.push(loadAppFile(file, context));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
  }
  const byName = new Map<string, LoadedApp>();
  const byYarnApp = new Map<string, LoadedApp>();
  for (const app of apps) {
    const { name } = app.config.metadata;
    const other = byName.get(name);
    if (other) {
      issues.push(
        locateIn(app.file, ['metadata', 'name'], `app "${name}" is also declared in ${other.file}`),
      );
    } else byName.set(name, app);
    const yarnKey = `${app.config.spec.yarn.host}\u0000${app.config.spec.yarn.appName}`;
    const sameYarn = byYarnApp.get(yarnKey);
    if (sameYarn) {
      issues.push(
        locateIn(
          app.file,
          ['spec', 'yarn', 'appName'],
          `YARN application "${app.config.spec.yarn.appName}" on ${app.config.spec.yarn.host} is also claimed by ${sameYarn.file}`,
        ),
      );
    } else byYarnApp.set(yarnKey, app);
  }
  issues.push(...serviceNamesThatMeet(apps));
  return { apps, issues };
}

/**
 * Model services of two apps that would get one name: a service step's Deployment and Service are named
 * `<app>-<step>` (src/kubernetes/service-manifest.ts builds the name from that), so app "a-b" step "c" and app "a"
 * step "b-c" meet. In the same namespace, the second app's step is refused here; at run time the worker refuses
 * to take over another app's objects too.
 */
function serviceNamesThatMeet(apps: readonly LoadedApp[]): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  const byName = new Map<string, { app: LoadedApp; step: string }>();
  for (const app of apps) {
    app.config.spec.steps.forEach((step, i) => {
      if (!step.service) return;
      const joined = `${app.config.metadata.name}-${step.name}`;
      const key = `${step.service.namespace ?? ''}\u0000${joined}`;
      const other = byName.get(key);
      if (!other) return void byName.set(key, { app, step: step.name });
      if (other.app === app) return;
      issues.push(
        locateIn(
          app.file,
          ['spec', 'steps', i, 'name'],
          `the model service "${joined}" would have the name of app "${other.app.config.metadata.name}" step "${other.step}" in ${other.app.file} (a model service is named <app>-<step>): rename one of the steps`,
        ),
      );
    });
  }
  return issues;
}

function locateIn(file: string, path: (string | number)[], message: string): LocatedIssue {
  return readYamlFile(file).locate({ path, message });
}
