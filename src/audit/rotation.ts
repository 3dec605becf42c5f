// Which nodes each class is probed on this round (pure). Probing every class on every node costs
// classes x nodes probe pods a round; past a budget, the user classes rotate over the nodes while the
// canary classes stay on every node every round, so a node that stopped enforcing is still caught
// within one round. docs/configuration.md (--max-probe-pods) describes the guarantees.

export interface RotationClass {
  readonly id: string;
  readonly namespace: string;
  /** Probe pods the class needs on one node: a client, plus a server when it listens on any port. */
  readonly podsPerNode: number;
}

export interface RotationInput {
  /** The schedulable nodes, sorted: pod names use the index in this list. */
  readonly nodes: readonly string[];
  /** The classes that will be probed (in scope, not skipped). */
  readonly classes: readonly RotationClass[];
  /** Probe pods (servers + clients) a round may plan; undefined: no budget, every class on every node. */
  readonly maxProbePods: number | undefined;
  /** Classes in this namespace are on every node every round, whatever the budget. */
  readonly canaryNamespace: string | undefined;
  /** Where the previous completed round left off (from its `nextCursor`; 0 to start). */
  readonly cursor: number;
}

export interface Coverage {
  /** (class, node) pairs with probe pods this round, canary included. */
  readonly pairsCovered: number;
  readonly pairsTotal: number;
  /** Nodes with at least one probe pod this round. */
  readonly nodesCovered: number;
  /** Rounds until every (class, node) pair has been probed, at this size and budget; 1 without rotation. */
  readonly rounds: number;
}

export interface Rotation {
  /** Class id -> indices (into `nodes`, ascending) of its nodes this round; every class has one. */
  readonly assignment: ReadonlyMap<string, readonly number[]>;
  readonly coverage: Coverage;
  /** Probe pods the assignment plans (before client plans are split). */
  readonly probePods: number;
  /** The canary alone, or the one user pair every round takes to make progress, exceeds the budget. */
  readonly overBudget: boolean;
  /** The cursor of the next round, once this one completes. */
  readonly nextCursor: number;
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

function cost(c: RotationClass): number {
  return Math.max(1, Math.floor(c.podsPerNode));
}

export function rotate(input: RotationInput): Rotation {
  const n = input.nodes.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const canary = input.classes.filter(
    (c) => input.canaryNamespace !== undefined && c.namespace === input.canaryNamespace,
  );
  // Sorted by id so the rotation does not depend on the order classes were discovered in.
  const users = input.classes
    .filter((c) => !canary.includes(c))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const budget = input.maxProbePods ?? Number.POSITIVE_INFINITY;
  const canaryPods = canary.reduce((s, c) => s + cost(c) * n, 0);
  const perNode = users.reduce((s, c) => s + cost(c), 0);
  const left = budget - canaryPods;
  const assignment = new Map<string, number[]>();
  for (const c of canary) assignment.set(c.id, all);

  const finish = (rounds: number, nextCursor: number): Rotation => {
    const covered = new Set<number>();
    let pairs = 0;
    let pods = 0;
    for (const c of input.classes) {
      const nodes = assignment.get(c.id) ?? [];
      for (const i of nodes) covered.add(i);
      pairs += nodes.length;
      pods += nodes.length * cost(c);
    }
    // Every class gets an entry, empty when off this round: callers tell "not probed now" from "gone".
    for (const c of input.classes)
      assignment.set(
        c.id,
        [...(assignment.get(c.id) ?? [])].sort((a, b) => a - b),
      );
    return {
      assignment,
      coverage: {
        pairsCovered: pairs,
        pairsTotal: input.classes.length * n,
        nodesCovered: covered.size,
        rounds,
      },
      probePods: pods,
      overBudget: pods > budget,
      nextCursor,
    };
  };

  if (n === 0 || users.length === 0 || perNode * n <= left) {
    for (const c of users) assignment.set(c.id, all);
    return finish(1, 0);
  }

  if (left >= perNode) {
    // Every class on a window of w consecutive nodes, so every class (and every flow between two
    // classes) is probed every round. Windows are laid end to end from the cursor, so together they
    // cover as many distinct nodes as the pairs allow; the cursor moves by w, so any ceil(n / w)
    // consecutive rounds slide each window over every node. Budget left after w nodes each gives
    // some classes one node more.
    const w = Math.floor(left / perNode);
    let spare = left - w * perNode;
    const start = mod(input.cursor, n);
    let offset = 0;
    for (const c of users) {
      let width = w;
      if (cost(c) <= spare) {
        spare -= cost(c);
        width++;
      }
      assignment.set(
        c.id,
        Array.from({ length: width }, (_, t) => mod(start + offset + t, n)),
      );
      offset += width;
    }
    return finish(Math.ceil(n / w), mod(start + w, n));
  }

  // Not even one node per class: the (class, node) pairs rotate as one sequence instead. Position p
  // is node p mod n and class (floor(p / n) + p mod n) mod |classes| (a bijection onto the pairs),
  // so a run of consecutive positions covers consecutive nodes with distinct classes; each round
  // takes the longest run from the cursor that fits (at least one pair, so a cycle always ends).
  const total = users.length * n;
  const at = (p: number): { cls: RotationClass; node: number } => {
    const q = Math.floor(p / n);
    const node = p % n;
    return { cls: users[(q + node) % users.length] as RotationClass, node };
  };
  const run = (from: number): number => {
    let spent = 0;
    let count = 0;
    while (count < total) {
      const c = cost(at((from + count) % total).cls);
      if (count > 0 && spent + c > left) break;
      spent += c;
      count++;
    }
    return count;
  };
  const start = mod(input.cursor, total);
  const count = run(start);
  for (let k = 0; k < count; k++) {
    const { cls, node } = at((start + k) % total);
    const list = assignment.get(cls.id);
    if (list) list.push(node);
    else assignment.set(cls.id, [node]);
  }
  let rounds = 1;
  for (let done = count; done < total; rounds++) done += run((start + done) % total);
  return finish(rounds, (start + count) % total);
}

/** What identifies a probed flow across rounds (class ids, nodes, port), for findings and probes. */
export interface FlowRecord {
  readonly fromClass: string;
  readonly toClass: string | undefined;
  /** For an external target, `ip:<text>`. */
  readonly to: string;
  readonly srcNode: string;
  readonly dstNode: string | undefined;
  readonly port: number;
  readonly protocol: string;
}

export function flowKey(f: FlowRecord): string {
  return `${f.fromClass}>${f.toClass ?? f.to}@${f.srcNode}>${f.dstNode ?? ''}:${f.port}/${f.protocol}`;
}

/** The key of a verdict change (engine `VerdictChange`): class to class (or `ip:`), port, protocol. */
export function verdictKey(from: string, to: string, port: number, protocol: string): string {
  return `${from}>${to}:${port}/${protocol}`;
}

export interface StandingInput<F extends FlowRecord> {
  /** The findings standing after the previous completed round. */
  readonly previous: readonly F[];
  /** The confirmed findings of this round. */
  readonly current: readonly F[];
  /** The flows this round probed with a conclusive outcome (connected, refused, timeout). */
  readonly probed: readonly FlowRecord[];
  /** The classes and nodes of this round: a finding on anything else is about something gone. */
  readonly classes: ReadonlySet<string>;
  readonly nodes: ReadonlySet<string>;
  /** Verdict keys (`verdictKey`) whose expectation changed since the previous completed round. */
  readonly changedVerdicts: ReadonlySet<string>;
}

/**
 * The mismatches to publish after a round. With rotation a round probes only part of the
 * (class, node) pairs, and the gauge is rebuilt from scratch each round: publishing only this round's
 * findings would clear a mismatch merely because its flow was off this round's window (or its probe
 * pod failed), and a broken node would blink in and out of the alert. So an earlier finding stands
 * until its flow is probed again conclusively; it goes only when its classes or nodes no longer exist
 * (nothing left to probe) or its expectation changed since (it contradicts a policy that is gone).
 */
export function standingFindings<F extends FlowRecord>(input: StandingInput<F>): F[] {
  const probed = new Set(input.probed.map(flowKey));
  const current = new Set(input.current.map(flowKey));
  const kept = input.previous.filter(
    (f) =>
      !probed.has(flowKey(f)) &&
      !current.has(flowKey(f)) &&
      input.classes.has(f.fromClass) &&
      (f.toClass === undefined || input.classes.has(f.toClass)) &&
      input.nodes.has(f.srcNode) &&
      (f.dstNode === undefined || input.nodes.has(f.dstNode)) &&
      !input.changedVerdicts.has(verdictKey(f.fromClass, f.toClass ?? f.to, f.port, f.protocol)),
  );
  return [...input.current, ...kept];
}
