// SARIF 2.1.0 for code-scanning user interfaces: lint findings, and with --base the flows a change
// opens, each with its rule's metadata and the file and line it points at.
import type { ChangeJson } from './diff-report.ts';

export interface SarifLocated {
  readonly ruleId: string;
  readonly ruleName: string;
  readonly level: 'error' | 'warning' | 'note';
  readonly message: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  /** `Kind ns/name` and field, for the logical location. */
  readonly object: string | undefined;
}

export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly level: 'error' | 'warning' | 'note';
  readonly description: string;
}

export const OPENED_FLOW_RULE: SarifRule = {
  id: 'NA100',
  name: 'opened-flow',
  level: 'warning',
  description: 'The change allows a flow (source pod, destination pod, port) that the base denied.',
};

export function openedFlowResult(
  c: ChangeJson,
  at: { file?: string | undefined; line?: number | undefined },
): SarifLocated {
  return {
    ruleId: OPENED_FLOW_RULE.id,
    ruleName: OPENED_FLOW_RULE.name,
    level: OPENED_FLOW_RULE.level,
    message: `opens ${c.from} -> ${c.to} ${c.port}/${c.protocol}${c.because.length > 0 ? `, allowed by ${c.because.join(', ')}` : ' (no policy isolates either end any more)'}`,
    file: at.file,
    line: at.line,
    object: undefined,
  };
}

/** A path as a SARIF artifact URI: relative paths stay relative (to the repository root). */
function artifactUri(file: string): string {
  return file
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/');
}

export function sarifLog(
  rules: readonly SarifRule[],
  results: readonly SarifLocated[],
  version: string,
): Record<string, unknown> {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'netaudit',
            version,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.description },
              defaultConfiguration: { level: r.level },
            })),
          },
        },
        results: results.map((r) => ({
          ruleId: r.ruleId,
          ...(index.has(r.ruleId) ? { ruleIndex: index.get(r.ruleId) } : {}),
          level: r.level,
          message: { text: r.message },
          ...(r.file
            ? {
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri: artifactUri(r.file) },
                      ...(r.line ? { region: { startLine: r.line } } : {}),
                    },
                    ...(r.object ? { logicalLocations: [{ fullyQualifiedName: r.object }] } : {}),
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
}
