// What promtool is given about config/monitoring/: every dashboard panel's query as a rule (Grafana's variables
// filled in as Grafana would), and the alerts an alerting rule should produce, annotations rendered.
import { readFileSync } from 'node:fs';
import { renderAnnotations } from './prom-series.js';

export interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Dashboard {
  panels: { title: string; targets?: { refId: string; expr: string }[] }[];
  templating: { list: { name: string; definition?: string }[] };
}

/** Grafana's variables as a query sees them: every app, and a rate window. */
const VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval/g, '5m'],
  [/\$app\b/g, '.+'],
];

/**
 * Each panel target of the dashboard as an alerting rule `count(<expr>) > 0` labelled with its panel, so promtool
 * parses it (`check rules`) and says whether it has data (`test rules`). `exprs` also holds the variables' queries.
 */
export function dashboardRules(path: string) {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
  const alertname = 'KappaDashboardQueryHasData';
  const targets = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: `${panel.title} (${target.refId})`,
      expr: VARIABLES.reduce((e, [re, value]) => e.replace(re, value), target.expr),
    })),
  );
  const rules = targets.map(({ panel, expr }) => ({
    alert: alertname,
    expr: `count(\n${expr}\n) > 0`,
    labels: { panel },
  }));
  return {
    file: { groups: [{ name: 'kappa-dashboard', rules }] },
    count: rules.length,
    alertname,
    expected: targets.map(({ panel }) => ({ exp_labels: { panel } })),
    exprs: [
      ...targets.map((t) => t.expr),
      ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
    ],
  };
}

/** promtool's `exp_alerts` for `rule` firing once per label set (the labels its expression yields). */
export function expectedAlerts(rule: AlertRule, firing: Record<string, string>[]) {
  return firing.map((labels) => ({
    exp_labels: { ...labels, ...rule.labels },
    exp_annotations: renderAnnotations(rule.annotations ?? {}, labels),
  }));
}
