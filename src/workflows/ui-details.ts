// What the Temporal UI shows of an app: the workflow's static summary and details (set when it starts), its
// current details (kept up to date by the workflow, read by the UI through the `__temporal_workflow_metadata`
// query) and a one-line summary on every activity. Pure and deterministic: text from config and state.
import type { AppConfig, Step } from '../config/app-config.js';
import type { AppStatus } from './types.js';

/** Characters of a summary line: the UI shows one line. */
const SUMMARY_CHARS = 200;

function line(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > SUMMARY_CHARS ? `${one.slice(0, SUMMARY_CHARS - 1)}…` : one;
}

/** `StreamingApp "FraudScoring" on edge-1`: the workflow's static summary. */
export function appSummary(config: AppConfig): string {
  return line(`${config.kind} "${config.spec.yarn.appName}" on ${config.spec.yarn.host}`);
}

/** The workflow's static details (markdown): what the app is, where it runs, its steps and policy. */
export function appDetails(config: AppConfig): string {
  const { yarn, restartPolicy, steps } = config.spec;
  return [
    `**${config.metadata.name}** — ${config.kind}`,
    '', // a list needs a blank line before it in the UI's markdown
    `- YARN application name: \`${yarn.appName}\` on edge node \`${yarn.host}\`, polled every ${yarn.pollInterval}`,
    `- steps: ${steps.map((s) => `\`${s.name}\` (${stepWhat(s)})`).join(', ')}`,
    `- restart policy: at most ${restartPolicy.maxRestarts} restarts, backoff ${restartPolicy.backoff.initial} × ${restartPolicy.backoff.factor} up to ${restartPolicy.backoff.max}`,
  ].join('\n');
}

/** What a step runs, in a few words: `pod spark:4.0.1 spark-submit …` or `ssh edge-1: spark-submit …`. */
function stepWhat(step: Step): string {
  if (step.pod) {
    const argv = [...(step.pod.command ?? []), ...(step.pod.args ?? [])];
    return `pod ${step.pod.image}${argv.length > 0 ? ` ${argv.slice(0, 3).join(' ')}${argv.length > 3 ? ' …' : ''}` : ''}`;
  }
  if (step.service) {
    const { image, replicas, port } = step.service;
    return `service ${image} ×${replicas} on port ${port}`;
  }
  const ssh = step.ssh!;
  const argv = ssh.command ?? ['script'];
  return `ssh ${ssh.host}: ${argv.slice(0, 3).join(' ')}${argv.length > 3 ? ' …' : ''}`;
}

/** The summary of a step's activity: which step of which attempt, and what it runs. */
export function stepSummary(step: Step, attempt: number): string {
  return line(`step "${step.name}" (attempt ${attempt}): ${stepWhat(step)}`);
}

/** The summary of a supervision activity: which YARN application, where, how often. */
export function supervisionSummary(appId: string, host: string, pollInterval: string): string {
  return line(`supervise ${appId} on ${host}, polled every ${pollInterval}`);
}

/** The summary of the other YARN activities: `find live "FraudScoring" on edge-1`, `kill application_… on edge-1`. */
export function yarnSummary(what: string, host: string): string {
  return line(`${what} on ${host}`);
}

/** Extra facts for the current details that `status` does not carry. */
export interface DetailsExtra {
  trackingUrl?: string;
  maxRestarts: number;
}

/** The workflow's current details (markdown), from its status: what an operator wants to see first. */
export function currentDetails(status: AppStatus, extra: DetailsExtra): string {
  const app = status.yarnAppId
    ? extra.trackingUrl && /^https?:\/\//.test(extra.trackingUrl)
      ? `[${status.yarnAppId}](${extra.trackingUrl})`
      : `\`${status.yarnAppId}\``
    : 'none';
  const lines = [
    `**${status.phase}**${status.step ? ` (step \`${status.step}\`)` : ''} · YARN application ${app} · restarts ${status.restarts}/${extra.maxRestarts} · revision ${status.revision}`,
  ];
  if (status.acceptedSince)
    lines.push(`YARN shows it ACCEPTED since ${status.acceptedSince}, not RUNNING yet`);
  if (status.degradedSince) lines.push(`edge node unreachable since ${status.degradedSince}`);
  if (status.nextRestartAt) {
    lines.push(`next restart (${status.restarts} of ${extra.maxRestarts}) at ${status.nextRestartAt}`);
  }
  if (status.lastError) lines.push(`last error: ${line(status.lastError)}`);
  return lines.join('\n\n');
}
