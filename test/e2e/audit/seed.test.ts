// The example policies of examples/seed/ in the lab, probed with real packets by `netaudit audit`:
// zero mismatches on a healthy cluster, every example's allowed and denied flows probed (TCP, UDP,
// egress to a 203.0.113.x stand-in); a node whose enforcer is off yields exactly the flows it should
// have denied; after `fault clear`, zero mismatches again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLabUp, labCommand, labEnforcer } from '../../../lab/lab.ts';
import { PROFILES } from '../../../src/policy/profiles.ts';
import { applyFile, deleteNamespaces, waitForPods } from '../support/apply.ts';
import { type AuditJson, flowKey, netaudit, type ProbeRecord, parseAudit } from '../support/netaudit.ts';
import { SEED_FILE, SEED_NAMESPACES } from '../support/seed.ts';

const NAMESPACES = SEED_NAMESPACES;
const AUDIT = [
  'audit',
  ...NAMESPACES.flatMap((n) => ['-n', n]),
  '--external',
  '203.0.113.8=80/TCP,53/UDP,32000/TCP,32768/TCP',
  '--external',
  '203.0.113.9=80/TCP,32000/TCP',
  // The lab's enforcer is audited with its own profile: where it differs (ipBlock on pod IPs under
  // Cilium), the expectation says so.
  '--profile',
  labEnforcer(),
  '-o',
  'json',
  '--include-probes',
  // The lab runs a whole cluster on 2 cores: give a starved process time to answer.
  '--timeout',
  '3s',
];

async function audit(
  namespaces: readonly string[] = NAMESPACES,
): Promise<{ code: number | null; json: AuditJson }> {
  const args = [...AUDIT];
  const at = args.indexOf('-n');
  args.splice(at, NAMESPACES.length * 2, ...namespaces.flatMap((n) => ['-n', n]));
  const run = await netaudit(args);
  return { code: run.code, json: parseAudit(run) };
}

function find(probes: readonly ProbeRecord[], from: string, to: string, port: string): ProbeRecord[] {
  const [p, proto] = port.split('/');
  return probes.filter(
    (r) => r.from.startsWith(from) && r.to.startsWith(to) && r.port === Number(p) && r.protocol === proto,
  );
}

/** Flows whose first-pass failure a re-probe did not confirm (counted as flaky, not as mismatches). */
let flakyKeys = new Set<string>();

function expectProbed(
  probes: readonly ProbeRecord[],
  from: string,
  to: string,
  port: string,
  expected: 'allow' | 'deny',
): void {
  const found = find(probes, from, to, port);
  assert.ok(found.length > 0, `${from} -> ${to} ${port} was probed`);
  for (const r of found) {
    assert.equal(r.expected, expected, `${flowKey(r)} is expected to ${expected}`);
    if (expected === 'allow' && r.observed !== 'connected' && flakyKeys.has(flowKey(r))) continue;
    // A REJECT answers refused, unless the kernel's ICMP rate limit swallowed the answer: then timeout
    // (`blocked`: refused on one attempt, timeout on another).
    if (expected === 'allow') assert.equal(r.observed, 'connected', `${flowKey(r)} observed`);
    else
      assert.ok(
        ['refused', 'timeout', 'blocked'].includes(r.observed),
        `${flowKey(r)} observed ${r.observed}`,
      );
  }
}

describe('netaudit audit on the seed examples (lab, real packets)', { timeout: 900_000 }, () => {
  before(async () => {
    await ensureLabUp();
    await applyFile(SEED_FILE);
    await waitForPods(NAMESPACES);
  });
  after(async () => {
    await labCommand(['fault', 'clear']);
    await deleteNamespaces(NAMESPACES);
  });

  let healthy: AuditJson;

  test('a correctly enforcing cluster: exit 0 and zero mismatches', async () => {
    const { code, json } = await audit();
    healthy = json;
    flakyKeys = new Set(
      (
        json.flaky as {
          from: string;
          to: string;
          port: number;
          protocol: string;
          srcNode: string;
          dstNode?: string;
        }[]
      ).map(flowKey),
    );
    assert.deepEqual(json.mismatches, []);
    assert.equal(code, 0);
    assert.equal(json.summary.mismatches, 0);
    assert.ok(json.summary.probes > 100, `probes: ${json.summary.probes}`);
    assert.deepEqual(json.failedPods, []);
    // No noise: refused and timeout both mean blocked; inconclusive is kept for what tells nothing.
    assert.ok(
      json.summary.inconclusive < json.summary.probes * 0.005,
      `inconclusive ${json.summary.inconclusive} of ${json.summary.probes} probes: ${JSON.stringify(json.inconclusive.slice(0, 5))}`,
    );
    assert.deepEqual(
      json.nodes.map((n) => [n.name, n.status]),
      [
        ['nalab-node-1', 'enforcing'],
        ['nalab-node-2', 'enforcing'],
      ],
    );
  });

  test("every example's allowed and denied flows were really probed, TCP and UDP, and to the stand-ins", () => {
    const p = healthy.probes ?? [];
    // 01 demo: only env=security reaches production; production reaches only the seed's DNS address (its stand-in 203.0.113.8).
    expectProbed(p, 'seed-demo/scanner', 'seed-demo/prod-', '80/TCP', 'allow');
    expectProbed(p, 'seed-demo/scanner', 'seed-demo/prod-', '80/UDP', 'allow');
    expectProbed(p, 'seed-demo/dev', 'seed-demo/prod-', '80/TCP', 'deny');
    expectProbed(p, 'seed-demo/dev', 'seed-demo/prod-', '80/UDP', 'deny');
    expectProbed(p, 'seed-demo/prod-', 'ip:203.0.113.8', '80/TCP', 'allow');
    expectProbed(p, 'seed-demo/prod-', 'ip:203.0.113.8', '53/UDP', 'allow');
    expectProbed(p, 'seed-demo/prod-', 'ip:203.0.113.9', '80/TCP', 'deny');
    expectProbed(p, 'seed-demo/prod-', 'seed-demo/scanner', '80/TCP', 'deny');
    // 02 default-deny-all
    expectProbed(p, 'seed-locked/', 'seed-locked/db', '5432/TCP', 'deny');
    expectProbed(p, 'seed-demo/dev', 'seed-locked/web-', '80/UDP', 'deny');
    expectProbed(p, 'seed-locked/', 'ip:203.0.113.8', '80/TCP', 'deny');
    // 03 allow-ingress
    expectProbed(p, 'seed-open/client', 'seed-open/web', '80/TCP', 'allow');
    expectProbed(p, 'seed-locked/', 'seed-open/web', '80/TCP', 'deny'); // seed-locked cannot send
    expectProbed(p, 'seed-demo/dev', 'seed-open/web', '80/UDP', 'allow');
    // 04 suspicious-pod
    expectProbed(p, 'seed-suspicious/app', 'seed-suspicious/suspicious', '80/TCP', 'deny');
    expectProbed(p, 'seed-suspicious/suspicious', 'seed-suspicious/app', '80/TCP', 'deny');
    expectProbed(p, 'seed-demo/dev', 'seed-suspicious/app', '80/TCP', 'allow');
    // 05 pod selector
    expectProbed(p, 'seed-podsel/app', 'seed-podsel/database', '5432/TCP', 'allow');
    expectProbed(p, 'seed-podsel/test', 'seed-podsel/database', '5432/TCP', 'deny');
    expectProbed(p, 'seed-podsel/test', 'seed-podsel/database', '5432/UDP', 'deny');
    // 06 namespace selector
    expectProbed(p, 'security/scan', 'production/api-', '8080/TCP', 'allow');
    expectProbed(p, 'dev/tools', 'production/api-', '8080/TCP', 'deny');
    expectProbed(p, 'dev/tools', 'production/api-', '8080/UDP', 'deny');
    // 07 ipBlock egress
    expectProbed(p, 'seed-egress/agent', 'ip:203.0.113.8', '80/TCP', 'allow');
    expectProbed(p, 'seed-egress/agent', 'ip:203.0.113.9', '80/TCP', 'deny');
    expectProbed(p, 'seed-egress/app-', 'seed-egress/agent', '9100/TCP', 'deny');
    // 08 except: 198.19.0.0/16 except 198.19.2.0/24 (nalab-node-2's pods). Whether an ipBlock matches
    // pod IPs at all is the enforcer's choice (Cilium: no), so node 1's clients are expected as the
    // lab enforcer's profile says.
    const exceptProbes = find(p, 'seed-except/client', 'seed-except/database', '5432/TCP');
    const fromNode1 = exceptProbes.filter((r) => r.srcNode === 'nalab-node-1');
    const fromNode2 = exceptProbes.filter((r) => r.srcNode === 'nalab-node-2');
    assert.ok(fromNode1.length > 0 && fromNode2.length > 0);
    const cidrMatchesPods = PROFILES[labEnforcer()].ipBlockMatchesPodIPs.value;
    for (const r of fromNode1) {
      assert.equal(r.expected, cidrMatchesPods ? 'allow' : 'deny');
      if (cidrMatchesPods) {
        assert.ok(
          r.observed === 'connected' || flakyKeys.has(flowKey(r)),
          `${flowKey(r)} observed ${r.observed}`,
        );
      } else assert.notEqual(r.observed, 'connected');
    }
    for (const r of fromNode2) {
      assert.equal(r.expected, 'deny');
      assert.notEqual(r.observed, 'connected');
    }
    // 09 port range
    expectProbed(p, 'seed-ports/db', 'ip:203.0.113.8', '32000/TCP', 'allow');
    expectProbed(p, 'seed-ports/db', 'ip:203.0.113.8', '32768/TCP', 'allow');
    expectProbed(p, 'seed-ports/db', 'ip:203.0.113.8', '80/TCP', 'deny');
    expectProbed(p, 'seed-ports/db', 'seed-ports/backup', '873/TCP', 'deny');
    // Both nodes took part on both ends.
    assert.deepEqual([...new Set(p.map((r) => r.srcNode))].sort(), ['nalab-node-1', 'nalab-node-2']);
    assert.deepEqual([...new Set(p.flatMap((r) => (r.dstNode ? [r.dstNode] : [])))].sort(), [
      'nalab-node-1',
      'nalab-node-2',
    ]);
  });

  test('enforcer-off on one node: exit 1, the unexpected-allow flows are exactly those it should have denied, each naming it', async () => {
    const node = 'nalab-node-1';
    await labCommand(['fault', 'enforcer-off', '--node', node]);
    // Five examples with egress and ingress isolation, ipBlock and except: fewer probe pods than the
    // whole seed, so the 2-core lab is not the thing being measured.
    const { code, json } = await audit([
      'seed-demo',
      'seed-locked',
      'seed-suspicious',
      'seed-egress',
      'seed-except',
    ]);
    assert.equal(code, 1);
    const probes = json.probes ?? [];
    const shouldOpen = new Set(
      probes
        .filter(
          (r) =>
            r.expected === 'deny' &&
            (r.egressAllowed || r.srcNode === node) &&
            (r.ingressAllowed || r.dstNode === node),
        )
        .map(flowKey),
    );
    assert.ok(shouldOpen.size > 10, `flows ${node} alone denied: ${shouldOpen.size}`);
    const allows = json.mismatches.filter((m) => m.kind === 'unexpected-allow');
    const reported = new Set(allows.map(flowKey));
    // No false alarm: every unexpected-allow is a flow only that node denied.
    assert.deepEqual(
      [...reported].filter((k) => !shouldOpen.has(k)),
      [],
    );
    // Nothing missed silently: a flow that should have opened is reported, or the audit said it could
    // not settle it (flaky: the re-probe disagreed; inconclusive: an error).
    const unsettled = new Set(
      [
        ...(json.flaky as Parameters<typeof flowKey>[0][]),
        ...(json.inconclusive as Parameters<typeof flowKey>[0][]),
      ].map(flowKey),
    );
    const missed = [...shouldOpen].filter((k) => !reported.has(k) && !unsettled.has(k));
    assert.deepEqual(missed, []);
    assert.ok(reported.size >= shouldOpen.size * 0.75, `reported ${reported.size} of ${shouldOpen.size}`);
    for (const m of allows) {
      assert.deepEqual(m.nodes, [node]);
      assert.equal(m.observed, 'connected');
      assert.ok(m.because.length > 0);
    }
    // One answer for the cause: exactly that node is not enforcing, the other one is.
    assert.deepEqual(
      json.nodes.map((n) => [n.name, n.status]),
      [
        ['nalab-node-1', 'not-enforcing'],
        ['nalab-node-2', 'enforcing'],
      ],
      JSON.stringify(json.nodes, null, 2),
    );
    assert.equal(json.nodes[0]?.unexpectedAllow, allows.length);
    assert.equal(json.nodes[1]?.unexpectedAllow, 0);
  });

  test('after fault clear: zero mismatches again', async () => {
    await labCommand(['fault', 'clear']);
    const { code, json } = await audit();
    assert.deepEqual(json.mismatches, []);
    assert.equal(code, 0);
    assert.deepEqual(
      json.nodes.map((n) => n.status),
      ['enforcing', 'enforcing'],
    );
  });
});
