// The monitoring artefacts against the code: the PrometheusRule passes promtool (its syntax and the
// alert unit tests of manifests/monitoring-tests), and every metric the alerts and the Grafana
// dashboard query is one netaudit exports, so that renaming a metric breaks this test rather than
// silently emptying an alert or a panel.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { Metrics } from '../../src/report/metrics.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RULE_FILE = join(REPO, 'manifests/base/prometheusrule.yaml');
const ALERT_TESTS = join(REPO, 'manifests/monitoring-tests/alerts.test.yaml');
const DASHBOARD = join(REPO, 'manifests/dashboards/netaudit.json');
const RUNBOOK = join(REPO, 'docs/runbook.md');
const BASE = join(REPO, 'manifests/base');
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
// The name alerts.test.yaml lists under rule_files, resolved next to its copy in the temp dir.
const EXTRACTED_RULES = 'netaudit-rules.yaml';

// --- PromQL: the metric names an expression reads -------------------------------------------------

// Functions and aggregations of PromQL (Prometheus 2.42), plus `start`/`end` of the `@` modifier.
const FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'cos',
  'cosh',
  'count_over_time',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'deg',
  'delta',
  'deriv',
  'exp',
  'floor',
  'histogram_quantile',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'log10',
  'log2',
  'max_over_time',
  'min_over_time',
  'minute',
  'month',
  'pi',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rad',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sin',
  'sinh',
  'sort',
  'sort_desc',
  'sqrt',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
  'tan',
  'tanh',
  'time',
  'timestamp',
  'vector',
  'year',
  'start',
  'end',
]);
// Aggregations and keywords are case-insensitive in PromQL; functions are not.
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
// Followed by a parenthesised list of label names, which are not metrics.
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'atan2', 'inf', 'nan']);

/** Index just past the bracket closing the one at `start`, stepping over quoted strings. */
function skipBracketed(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') i = skipString(expr, i) - 1;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced ${open} at ${start} in ${expr}`);
}

function skipString(expr: string, start: number): number {
  const quote = expr[start];
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quote !== '`') i++;
    else if (expr[i] === quote) return i + 1;
  }
  throw new Error(`unterminated string at ${start} in ${expr}`);
}

/** Metric names and unknown function names in a PromQL expression (Grafana variables allowed). */
function promqlNames(expr: string): { metrics: Set<string>; unknownFunctions: Set<string> } {
  const metrics = new Set<string>();
  const unknownFunctions = new Set<string>();
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') i = skipString(expr, i);
    else if (c === '{') i = skipBracketed(expr, i, '{', '}');
    else if (c === '[') i = skipBracketed(expr, i, '[', ']');
    else if (c === '#') i = expr.indexOf('\n', i) === -1 ? expr.length : expr.indexOf('\n', i);
    else if (/[0-9.]/.test(c)) i += /^[0-9.][0-9a-zA-Z_.]*/.exec(expr.slice(i))?.[0].length ?? 1;
    else if (c === '$') i += /^\$(\{[^}]*\}|\w*)/.exec(expr.slice(i))?.[0].length ?? 1;
    else if (/[a-zA-Z_:]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))?.[0] ?? c;
      i += word.length;
      const rest = expr.slice(i);
      const nextIsParen = /^\s*\(/.test(rest);
      const lower = word.toLowerCase();
      if (GROUPING.has(lower)) {
        if (nextIsParen) i = skipBracketed(expr, expr.indexOf('(', i), '(', ')');
      } else if (KEYWORDS.has(lower) || AGGREGATIONS.has(lower)) {
        // `sum by (x) (...)`: the grouping clause is consumed on the next turn.
      } else if (nextIsParen) {
        if (!FUNCTIONS.has(word)) unknownFunctions.add(word);
      } else metrics.add(word);
    } else i++;
  }
  return { metrics, unknownFunctions };
}

/** Problems with an expression: metrics netaudit does not export, functions PromQL does not have. */
function checkExpr(expr: string, known: ReadonlySet<string>): string[] {
  const { metrics, unknownFunctions } = promqlNames(expr);
  return [
    ...[...metrics].filter((m) => !known.has(m)).map((m) => `unknown metric ${m}`),
    ...[...unknownFunctions].map((f) => `unknown function ${f}`),
  ];
}

/** Every series name netaudit serves: the Metrics class plus prom-client's default metrics. */
async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    // What Prometheus stores for a histogram or a summary is its suffixed series.
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

// --- The files ------------------------------------------------------------------------------------

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, unknown>;
  readonly annotations: Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function prometheusRule(): { spec: Record<string, unknown>; rules: Rule[] } {
  const doc: unknown = parse(readFileSync(RULE_FILE, 'utf8'));
  assert.ok(isRecord(doc) && doc.kind === 'PrometheusRule' && isRecord(doc.spec), 'a PrometheusRule');
  const groups = doc.spec.groups;
  assert.ok(Array.isArray(groups) && groups.length > 0, 'spec.groups');
  const rules: Rule[] = [];
  for (const g of groups) {
    assert.ok(isRecord(g) && Array.isArray(g.rules), 'a group with rules');
    for (const r of g.rules) {
      assert.ok(isRecord(r) && typeof r.alert === 'string' && typeof r.expr === 'string', 'an alert rule');
      rules.push({
        alert: r.alert,
        expr: r.expr,
        labels: isRecord(r.labels) ? r.labels : {},
        annotations: isRecord(r.annotations) ? r.annotations : {},
      });
    }
  }
  return { spec: doc.spec, rules };
}

interface Panel {
  readonly title: string;
  readonly type: string;
  readonly datasource: unknown;
  readonly targets: unknown;
}

/** Panels of the dashboard, those nested in collapsed rows included; rows themselves excluded. */
function dashboardPanels(dashboard: unknown): Panel[] {
  assert.ok(isRecord(dashboard) && Array.isArray(dashboard.panels), 'a dashboard with panels');
  const out: Panel[] = [];
  const visit = (list: unknown[]): void => {
    for (const p of list) {
      assert.ok(isRecord(p) && typeof p.type === 'string', 'a panel with a type');
      if (p.type === 'row') {
        if (Array.isArray(p.panels)) visit(p.panels);
        continue;
      }
      out.push({
        title: typeof p.title === 'string' ? p.title : '(untitled)',
        type: p.type,
        datasource: p.datasource,
        targets: p.targets,
      });
    }
  };
  visit(dashboard.panels);
  return out;
}

function panelExprs(panel: Panel): string[] {
  assert.ok(Array.isArray(panel.targets) && panel.targets.length > 0, `panel "${panel.title}" has targets`);
  return panel.targets.map((t) => {
    assert.ok(isRecord(t) && typeof t.expr === 'string' && t.expr.trim() !== '', `"${panel.title}": an expr`);
    return t.expr;
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    out.add(
      (m[1] ?? '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return out;
}

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const bin = process.env.PROMTOOL ?? 'promtool';
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  if (r.error) {
    assert.fail(
      `cannot run ${bin} (${r.error.message}): promtool (from Prometheus) is needed for these tests; ` +
        'scripts/setup installs it',
    );
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// --- Tests ----------------------------------------------------------------------------------------

describe('PromQL metric name checker', () => {
  const known = new Set(['netaudit_probes_total', 'netaudit_leader', 'netaudit_mismatches']);

  test('finds metrics, not functions, keywords, label names, strings, durations or variables', () => {
    const expr = `
      sum by (namespace, job) (rate(netaudit_probes_total{result="error", job=~"a|b"}[15m] offset 5m))
        / on (namespace) group_left (pod)
      max without (instance) (netaudit_leader) > bool 0
      or label_replace(netaudit_mismatches, "dst", "$1", "src_namespace", "(.*)")
      and time() - netaudit_last_round_timestamp_seconds @ end() > 1e3
      unless netaudit_classes[$__rate_interval:1m] # a comment naming not_a_metric
    `;
    const { metrics, unknownFunctions } = promqlNames(expr);
    assert.deepEqual([...metrics].sort(), [
      'netaudit_classes',
      'netaudit_last_round_timestamp_seconds',
      'netaudit_leader',
      'netaudit_mismatches',
      'netaudit_probes_total',
    ]);
    assert.deepEqual([...unknownFunctions], []);
  });

  test('reports a misspelled metric', () => {
    assert.deepEqual(checkExpr('netaudit_mismatch{kind="unexpected-allow"} > 0', known), [
      'unknown metric netaudit_mismatch',
    ]);
    assert.deepEqual(checkExpr('sum(netaudit_leaders)', known), ['unknown metric netaudit_leaders']);
  });

  test('reports a misspelled function', () => {
    assert.deepEqual(checkExpr('sum(rat(netaudit_probes_total[5m]))', known), ['unknown function rat']);
  });

  test('knows what netaudit exports, histogram series included', async () => {
    const names = await exportedMetricNames();
    for (const n of [
      'netaudit_mismatches',
      'netaudit_leader',
      'netaudit_last_successful_round_timestamp_seconds',
      'netaudit_audit_round_duration_seconds_bucket',
      'netaudit_enforcement_latency_seconds_count',
      'netaudit_process_start_time_seconds',
    ]) {
      assert.ok(names.has(n), n);
    }
    assert.ok(!names.has('netaudit_leader_bucket'), 'a gauge has no _bucket series');
  });
});

describe('PrometheusRule', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'netaudit-monitoring-'));
    writeFileSync(join(dir, EXTRACTED_RULES), stringify({ groups: prometheusRule().spec.groups }));
    copyFileSync(ALERT_TESTS, join(dir, 'alerts.test.yaml'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', EXTRACTED_RULES], dir);
    assert.equal(r.status, 0, r.output);
  });

  test('passes the promtool unit tests of manifests/monitoring-tests/alerts.test.yaml', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    assert.equal(r.status, 0, r.output);
  });

  test('has the five alerts, each with a severity, a summary, a description and a runbook section', () => {
    const { rules } = prometheusRule();
    assert.deepEqual([...new Set(rules.map((r) => r.alert))].sort(), [
      'NetauditAuditStale',
      'NetauditNodeNotEnforcing',
      'NetauditProbesFailing',
      'NetauditUnexpectedAllow',
      'NetauditUnexpectedDeny',
    ]);
    const sections = anchors(readFileSync(RUNBOOK, 'utf8'));
    const prefix = 'https://github.com/netaudit/netaudit/blob/main/docs/runbook.md#';
    for (const r of rules) {
      assert.ok(['critical', 'warning', 'info'].includes(String(r.labels.severity)), `${r.alert}: severity`);
      assert.ok(typeof r.annotations.summary === 'string', `${r.alert}: summary`);
      assert.ok(typeof r.annotations.description === 'string', `${r.alert}: description`);
      const url = String(r.annotations.runbook_url);
      assert.ok(url.startsWith(prefix), `${r.alert}: runbook_url ${url}`);
      assert.ok(
        sections.has(url.slice(prefix.length)),
        `${r.alert}: docs/runbook.md has no #${url.slice(prefix.length)}`,
      );
    }
    assert.equal(rules.find((r) => r.alert === 'NetauditUnexpectedAllow')?.labels.severity, 'critical');
  });

  test('queries only metrics netaudit exports', async () => {
    const known = await exportedMetricNames();
    for (const r of prometheusRule().rules) assert.deepEqual(checkExpr(r.expr, known), [], r.alert);
  });
});

describe('Grafana dashboard', () => {
  const text = readFileSync(DASHBOARD, 'utf8');

  test('is JSON whose panels all have queries, on the datasource variable', () => {
    const dashboard: unknown = JSON.parse(text);
    assert.ok(
      isRecord(dashboard) && isRecord(dashboard.templating) && Array.isArray(dashboard.templating.list),
    );
    const variable = dashboard.templating.list.find((v) => isRecord(v) && v.name === 'datasource');
    assert.ok(isRecord(variable) && variable.type === 'datasource' && variable.query === 'prometheus');
    const panels = dashboardPanels(dashboard);
    assert.ok(panels.length >= 8, `${panels.length} panels`);
    for (const p of panels) {
      panelExprs(p);
      assert.deepEqual(p.datasource, DATASOURCE, p.title);
    }
  });

  test('queries only metrics netaudit exports', async () => {
    const known = await exportedMetricNames();
    for (const p of dashboardPanels(JSON.parse(text))) {
      for (const e of panelExprs(p)) assert.deepEqual(checkExpr(e, known), [], `${p.title}: ${e}`);
    }
  });

  test('queries are valid PromQL (promtool, as recording rules)', () => {
    const exprs = dashboardPanels(JSON.parse(text)).flatMap(panelExprs);
    // Grafana substitutes its interval variables before Prometheus sees the query.
    const rules = exprs.map((e, i) => ({
      record: `netaudit_dashboard:query_${i}`,
      expr: e.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m'),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'netaudit-dashboard-'));
    try {
      writeFileSync(join(dir, 'dashboard-rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = promtool(['check', 'rules', 'dashboard-rules.yaml'], dir);
      assert.equal(r.status, 0, r.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('manifests', () => {
  const load = (file: string): Record<string, unknown> => {
    const doc: unknown = parse(readFileSync(join(BASE, file), 'utf8'));
    assert.ok(isRecord(doc), file);
    return doc;
  };

  test('the ServiceMonitor scrapes the metrics Service by its port name, every 30 s', () => {
    const service = load('service.yaml');
    const monitor = load('servicemonitor.yaml');
    assert.ok(isRecord(service.metadata) && isRecord(service.spec) && Array.isArray(service.spec.ports));
    assert.ok(isRecord(monitor.metadata) && isRecord(monitor.spec) && isRecord(monitor.spec.selector));
    assert.equal(monitor.kind, 'ServiceMonitor');
    assert.equal(monitor.metadata.namespace, service.metadata.namespace);
    const serviceLabels = isRecord(service.metadata.labels) ? service.metadata.labels : {};
    const selector = monitor.spec.selector.matchLabels;
    assert.ok(isRecord(selector) && Object.keys(selector).length > 0, 'matchLabels');
    for (const [k, v] of Object.entries(selector)) assert.equal(serviceLabels[k], v, `Service label ${k}`);
    const portNames = service.spec.ports.map((p: unknown) => (isRecord(p) ? p.name : undefined));
    assert.ok(Array.isArray(monitor.spec.endpoints) && monitor.spec.endpoints.length > 0, 'endpoints');
    for (const e of monitor.spec.endpoints) {
      assert.ok(isRecord(e));
      assert.ok(portNames.includes(e.port), `port ${String(e.port)} is one of the Service's: ${portNames}`);
      assert.equal(e.path, '/metrics');
      assert.equal(e.interval, '30s');
    }
  });

  test('the base ships the ServiceMonitor and the rules, not the dashboard', () => {
    const resources = load('kustomization.yaml').resources;
    assert.ok(Array.isArray(resources));
    assert.ok(resources.includes('servicemonitor.yaml') && resources.includes('prometheusrule.yaml'));
    assert.ok(!resources.some((r) => String(r).includes('dashboards')), 'the dashboard is opt-in');
  });
});
