// `--profile auto` against the lab's real API server: the lab runs kube-router as a process per node
// (no agent pod, no node annotation), so auto says generic and why; a pod that looks like a Cilium
// agent makes it say cilium, naming the pod; an explicit --profile wins over what it sees.
// Dry runs: detection is all that is tested, no probe pod is created.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLabUp } from '../../../lab/lab.ts';
import { applyText, deleteNamespaces, deleteObject, type ObjectHead, waitForPods } from '../support/apply.ts';
import { netaudit } from '../support/netaudit.ts';

const NS = 'profile-e2e';
const WORKLOAD = `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: ${NS}, labels: { app: web } }
spec:
  containers:
    - name: web
      image: ghcr.io/netaudit/netaudit:dev
      command: [netaudit]
      args: [agent, serve, --port, 80/TCP]
      ports: [{ containerPort: 80, protocol: TCP }]
`;
// Never Ready in the lab (an image it does not run): only its label and image are read.
const FAKE_CILIUM = `apiVersion: v1
kind: Pod
metadata: { name: cilium-e2e-fake, namespace: kube-system, labels: { k8s-app: cilium } }
spec:
  containers: [{ name: cilium-agent, image: quay.io/cilium/cilium:v1.16.5 }]
`;

async function detection(
  args: readonly string[] = [],
): Promise<{ profile: string; reason?: string; found?: string[] }> {
  const run = await netaudit(['audit', '-n', NS, '--dry-run', '-o', 'json', ...args]);
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    profile: string;
    profileDetection?: { reason: string; found: string[] };
  };
  return { profile: json.profile, ...(json.profileDetection ?? {}) };
}

describe('--profile auto (lab API server)', { timeout: 300_000 }, () => {
  let fake: ObjectHead[] = [];
  before(async () => {
    await ensureLabUp();
    await applyText(WORKLOAD);
    await waitForPods([NS]);
  });
  after(async () => {
    for (const o of fake) await deleteObject(o);
    await deleteNamespaces([NS]);
  });

  test('nothing recognisable runs: generic, and the reason says so', async () => {
    const d = await detection();
    assert.equal(d.profile, 'generic');
    assert.match(d.reason ?? '', /^no Cilium, Calico or kube-router agent pod or node annotation found/);
  });

  test('a Cilium agent pod in kube-system: cilium, naming the pod', async () => {
    fake = await applyText(FAKE_CILIUM);
    const d = await detection();
    assert.equal(d.profile, 'cilium');
    assert.match(
      d.reason ?? '',
      /^Cilium runs in the cluster \(pod kube-system\/cilium-e2e-fake \(label k8s-app=cilium\)\)/,
    );
  });

  test('an explicit --profile wins, and nothing is detected', async () => {
    const d = await detection(['--profile', 'kube-router']);
    assert.equal(d.profile, 'kube-router');
    assert.equal(d.reason, undefined);
  });
});
