// Runs the analyze pipeline on files (as the CLI does) and answers questions about its verdicts.
import { type Analysis, type AnalyzeArgs, analyzeLoaded, runAnalyze } from '../../src/cli/analyze.ts';
import { readManifests } from '../../src/cli/read-manifests.ts';
import { type PodVerdict, podVerdicts } from '../../src/expect/cells.ts';
import type { ExternalTarget } from '../../src/expect/ports.ts';
import { parseIpLiteral } from '../../src/policy/cidr.ts';
import type { ProfileName } from '../../src/policy/profiles.ts';

export interface Analysed {
  analysis: Analysis;
  verdicts: PodVerdict[];
  /** allowed("ns/a", "ns/b" | "ip:1.2.3.4", "80/TCP"); throws if the flow was not evaluated. */
  allowed(from: string, to: string, port: string): boolean;
  flows(): string[];
}

export async function analyzePaths(
  paths: string[],
  opts: { externals?: string[]; profile?: ProfileName } = {},
): Promise<Analysed> {
  const read = await readManifests(paths);
  const load = read.load;
  const externals: ExternalTarget[] = (opts.externals ?? []).map((text) => {
    const ip = parseIpLiteral(text);
    if (!ip.ok) throw new Error(ip.error);
    return { text, ip: ip.value };
  });
  const analysis = analyzeLoaded(load, { profile: opts.profile ?? 'generic', externals });
  const verdicts = [...podVerdicts(analysis.engine)];
  const key = (v: PodVerdict): string =>
    `${v.from.key} -> ${v.to.kind === 'pod' ? v.to.pod.key : `ip:${v.to.text}`} ${v.port}/${v.protocol}`;
  const index = new Map(verdicts.map((v) => [key(v), v]));
  return {
    analysis: { ...analysis, issues: [...read.issues, ...analysis.issues] },
    verdicts,
    allowed(from, to, port) {
      const v = index.get(`${from} -> ${to} ${port}`);
      if (!v)
        throw new Error(
          `flow ${from} -> ${to} ${port} was not evaluated; have: ${[...index.keys()].join('; ')}`,
        );
      return v.verdict.allowed;
    },
    flows: () => [...index.keys()],
  };
}

/** `netaudit analyze` in process with the CLI's defaults; its exit code and what it printed. */
export async function runAnalyzeWith(
  args: Partial<AnalyzeArgs>,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAnalyze(
    {
      file: [],
      port: [],
      external: [],
      profile: 'generic',
      output: 'table',
      classes: false,
      explain: undefined,
      ...args,
    },
    {
      stdout: (s) => {
        out += s;
      },
      stderr: (s) => {
        err += s;
      },
      color: false,
    },
  );
  return { code, out, err };
}
