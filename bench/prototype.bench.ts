// What the suggested matrix changes are worth, measured: bench/prototype/masked-matrix.ts against
// computeMatrix on the same synthetic clusters, with the verdicts compared.
// Run: node --expose-gc bench/prototype.bench.ts [--sizes 1k,10k] [--full-compare]
//   --full-compare: also runs computeMatrix and compares every cell (10k: ~45 s more);
//   otherwise the prototype is compared with evaluate() on a sample of pod pairs.
import { parseArgs } from 'node:util';
import { classesOf, type PodClass } from '../src/model/classes.ts';
import { buildSnapshot, evalContext } from '../src/model/cluster.ts';
import { computeMatrix, verdictSignature } from '../src/model/matrix.ts';
import { evaluate } from '../src/policy/evaluate.ts';
import { PROFILES } from '../src/policy/profiles.ts';
import type { PodInfo } from '../src/policy/types.ts';
import { fmtInt, fmtMs, forceGc, MemoryWatch, round, timed } from './measure.ts';
import { computeMaskedMatrix } from './prototype/masked-matrix.ts';
import { generateCluster, parseShape, Rng } from './synthetic.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1k,10k' },
    seed: { type: 'string', default: '1' },
    'full-compare': { type: 'boolean', default: false },
  },
});

for (const name of (args.sizes ?? '').split(',').filter((s) => s.length > 0)) {
  forceGc();
  const mem = new MemoryWatch();
  const cluster = generateCluster(parseShape(name), Number(args.seed));
  const { snapshot } = buildSnapshot(cluster, PROFILES.generic);
  const ctx = evalContext(snapshot);
  const { classes } = classesOf(snapshot);
  const all = [...snapshot.policies.values()].flat();
  mem.mark('input');
  const fast = timed(() => computeMaskedMatrix(ctx, classes, all));
  const m = fast.value;
  const peak = mem.mark('prototype');
  process.stdout.write(
    `${name}: ${fmtInt(classes.length)} classes, ${fmtInt(m.cells.length)} cells, ${fmtInt(m.table.length)} distinct verdicts; ` +
      `prototype ${fmtMs(fast.ms)}, peak RSS ${peak.peakRssMiB} MiB\n`,
  );

  const classIndex = new Map<PodInfo, number>();
  classes.forEach((c: PodClass, i) => {
    for (const p of c.members) classIndex.set(p, i);
  });
  let checked = 0;
  let mismatches = 0;
  if (args['full-compare']) {
    const ref = timed(() => computeMatrix(ctx, classes, all));
    process.stdout.write(
      `   computeMatrix ${fmtMs(ref.ms)} (${round(ref.ms / fast.ms, 1)}x the prototype)\n`,
    );
    for (let s = 0; s < classes.length; s++) {
      for (let d = 0; d < m.destinations.length; d++) {
        const ports = m.destinations[d]?.ports ?? [];
        for (let p = 0; p < ports.length; p++) {
          checked++;
          if (verdictSignature(ref.value.verdictAt(s, d, p)) !== verdictSignature(m.verdictAt(s, d, p)))
            mismatches++;
        }
      }
    }
  } else {
    const rng = new Rng(11);
    const pods = snapshot.pods;
    for (let k = 0; k < 20_000; k++) {
      const from = pods[rng.int(pods.length)] as PodInfo;
      const to = pods[rng.int(pods.length)] as PodInfo;
      if (from === to) continue;
      const s = classIndex.get(from) as number;
      const d = classIndex.get(to) as number;
      (m.destinations[d]?.ports ?? []).forEach((port, p) => {
        checked++;
        const naive = evaluate(ctx, { from, to: { kind: 'pod', pod: to }, ...port });
        if (verdictSignature(naive) !== verdictSignature(m.verdictAt(s, d, p))) mismatches++;
      });
    }
  }
  process.stdout.write(
    `   verdicts compared with ${args['full-compare'] ? 'computeMatrix (every cell)' : 'evaluate() (sampled pairs)'}: ${checked - mismatches}/${checked} equal\n`,
  );
}
