// Expands any cell of the factored form (factored.ts) into its verdict, with nothing but the form
// itself: the small decoder a consumer of `analyze --classes -o json` needs. Decides exactly as the
// engine does (a test holds it to per-pod verdicts on random clusters).
import type { FactoredAnalysis, FactoredPort, FactoredRule } from './factored.ts';

export interface DecodedDirection {
  readonly isolated: boolean;
  readonly allowed: boolean;
  readonly allowedBy: readonly string[];
  readonly isolatedBy: readonly string[];
}

export interface DecodedVerdict {
  readonly allowed: boolean;
  readonly egress: DecodedDirection;
  readonly ingress: DecodedDirection;
}

const OPEN: DecodedDirection = { isolated: false, allowed: true, allowedBy: [], isolatedBy: [] };

export class FactoredDecoder {
  private readonly form: FactoredAnalysis;
  private readonly classIndex: Map<string, number>;
  private readonly externalIndex: Map<string, number>;
  private readonly peerClasses: ReadonlySet<number>[];
  private readonly peerExternals: ReadonlySet<number>[];

  constructor(form: FactoredAnalysis) {
    this.form = form;
    this.classIndex = new Map(form.classes.map((c, i) => [c.id, i]));
    this.externalIndex = new Map(form.externals.map((e, i) => [e.id, i]));
    this.peerClasses = form.peerSets.map((p) => new Set(p.classes));
    this.peerExternals = form.peerSets.map((p) => new Set(p.externals));
  }

  /** The verdict of traffic from a class to a class or external target (`ip:...`) on a port. */
  verdict(from: string, to: string, port: number, protocol: string): DecodedVerdict | undefined {
    const s = this.classIndex.get(from);
    const src = s === undefined ? undefined : this.form.classes[s];
    if (!src || s === undefined) return undefined;
    const d = this.classIndex.get(to);
    const e = this.externalIndex.get(to);
    if (d === undefined && e === undefined) return undefined;
    const dst = d === undefined ? undefined : this.form.classes[d];
    const named = dst?.namedPorts ?? {};
    const egress = this.direction(src.egress, port, protocol, named, (r) => this.reaches(r, d, e));
    const ingress =
      dst === undefined
        ? OPEN
        : this.direction(dst.ingress, port, protocol, named, (r) => this.reaches(r, s, undefined));
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
  }

  private direction(
    setIndex: number | null,
    port: number,
    protocol: string,
    named: Readonly<Record<string, number>>,
    peerOk: (r: FactoredRule) => boolean,
  ): DecodedDirection {
    if (setIndex === null) return OPEN;
    const set = this.form.ruleSets[setIndex];
    if (!set) return OPEN;
    const allowedBy: string[] = [];
    for (const ri of set.rules) {
      const rule = this.form.rules[ri];
      if (rule && portOk(rule, port, protocol, named) && peerOk(rule)) allowedBy.push(rule.ref);
    }
    return { isolated: true, allowed: allowedBy.length > 0, allowedBy, isolatedBy: set.isolatedBy };
  }

  private reaches(rule: FactoredRule, cls: number | undefined, external: number | undefined): boolean {
    if (rule.peers === 'any') return true;
    return rule.peers.some((p) =>
      cls !== undefined
        ? this.peerClasses[p]?.has(cls)
        : external !== undefined && this.peerExternals[p]?.has(external),
    );
  }
}

function portOk(
  rule: FactoredRule,
  port: number,
  protocol: string,
  named: Readonly<Record<string, number>>,
): boolean {
  if (rule.ports === 'any') return true;
  return rule.ports.some((m: FactoredPort) => {
    if (m.protocol !== protocol) return false;
    if ('name' in m) return named[`${m.name}/${protocol}`] === port;
    return port >= m.from && port <= m.to;
  });
}
