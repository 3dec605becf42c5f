/**
 * The lab's node agent behaves like a kubelet where netaudit relies on it: pod IPs and host IPs,
 * phases, exit codes and termination messages, readiness gates, env, runAsUser, deadlines, deletion,
 * unsupported images, and re-adoption of running pods after an agent restart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { podNetns } from '../../../lab/config.ts';
import { agentApi, ciliumEndpoints, endpointReady } from '../../../lab/enforcer/cilium.ts';
import {
  coreApi,
  createNamespace,
  createPod,
  deleteNamespaces,
  ensureLabUp,
  expectReach,
  LAB_IMAGE,
  LAB_TOOL_IMAGE,
  labCommand,
  labEnforcer,
  labExternals,
  labNodes,
  podNet,
  serverPod,
  startPods,
  waitFor,
  waitPodRunning,
} from '../../../lab/lab.ts';
import { isAlive } from '../../../lab/procs.ts';
import { inNetns, netnsExists } from '../../../lab/sh.ts';
import { readState } from '../../../lab/state.ts';

const NS = `lab-pods-${Date.now().toString(36)}`;

function toolPod(name: string, args: string[], extra: Partial<k8s.V1PodSpec> = {}): k8s.V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: LAB_TOOL_IMAGE, command: ['nettool', ...args] }],
      ...extra,
    },
  };
}

async function waitPhase(name: string, phases: string[], timeoutMs = 30_000): Promise<k8s.V1Pod> {
  return waitFor(
    `${NS}/${name} in ${phases.join('|')}`,
    async () => {
      const p = await coreApi().readNamespacedPod({ name, namespace: NS });
      return phases.includes(p.status?.phase ?? '') ? p : undefined;
    },
    timeoutMs,
    50,
  );
}

describe('lab node agent', () => {
  before(async () => {
    await ensureLabUp();
    await createNamespace(NS);
  });
  after(async () => {
    await deleteNamespaces([NS]);
  });

  it('runs a pod within 3 s of creation, rules programmed, with podIP(s) and hostIP from its node', async () => {
    const node = labNodes()[0] ?? '';
    const t0 = Date.now();
    await createPod(NS, serverPod('fast', { node }));
    const p = await waitPodRunning(NS, 'fast');
    const ms = Date.now() - t0;
    assert.ok(ms < 3000, `pod Running after ${ms} ms`);
    const ip = p.status?.podIP ?? '';
    assert.match(ip, /^198\.19\.1\.\d+$/);
    assert.deepEqual(
      p.status?.podIPs?.map((x) => x.ip),
      [ip],
    );
    assert.equal(p.status?.hostIP, '198.18.0.11');
    assert.deepEqual(
      p.status?.hostIPs?.map((x) => x.ip),
      ['198.18.0.11'],
    );
    assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const cs = p.status?.containerStatuses?.[0];
    assert.equal(cs?.ready, true);
    assert.ok(cs?.state?.running?.startedAt);
    assert.equal(cs?.image, p.spec?.containers[0]?.image);
    assert.ok(cs?.containerID);
    if (labEnforcer() === 'cilium') {
      // Running implies programmed: Cilium's endpoint for the pod is ready (CNI ADD returned).
      assert.ok(await endpointReady('nalab-node-1', ip), `a ready Cilium endpoint for ${ip}`);
    } else {
      // Running implies programmed: kube-router's jump for the pod is in the node's FORWARD chain.
      const rules = await inNetns('nalab-node-1', 'iptables', ['-S', 'KUBE-ROUTER-FORWARD']);
      assert.match(rules.stdout, new RegExp(`-d ${ip.replaceAll('.', '\\.')}/32 .*KUBE-POD-FW-`));
    }
    process.stderr.write(`# pod Running ${ms} ms after creation\n`);
  });

  it('a pod routes via its node: one neighbour entry, however many addresses it talks to', async () => {
    // The kernel's ARP table is shared by every netns: a pod that ARPs for each peer (a device default
    // route) overflows it in a probe round, and the kernel drops packets (lost UDP probes).
    const [one = '', two = ''] = labNodes();
    const pods = await startPods(NS, [
      serverPod('nb-a', { node: one }),
      serverPod('nb-b', { node: two }),
      serverPod('nb-c', { node: one }),
      serverPod('nb-client', { node: one }),
    ]);
    const targets = ['nb-a', 'nb-b', 'nb-c'].flatMap((n) => {
      const ip = pods.get(n)?.status?.podIP ?? '';
      return [`tcp:${ip}:80`, `udp:${ip}:80`];
    });
    await expectReach(NS, 'nb-client', [...targets, `tcp:${labExternals().ips[0]}:80`], true);
    const { netns } = await podNet(NS, 'nb-client');
    const neighbours = (await inNetns(netns, 'ip', ['-4', 'neigh', 'show'])).stdout.trim().split('\n');
    const hostIP = pods.get('nb-client')?.status?.hostIP ?? '';
    assert.deepEqual(
      neighbours.map((l) => l.split(' ')[0]),
      [hostIP],
      `neighbours of the client pod: ${neighbours.join('; ')}`,
    );
  });

  it('reports exit codes and the termination message (capped at 4096 bytes), phase per restartPolicy', async () => {
    const big = 'x'.repeat(5000);
    await createPod(NS, toolPod('ok', ['exit', '--code', '0', '--message', 'hello from the pod']));
    await createPod(NS, toolPod('bad', ['exit', '--code', '3', '--message', big]));
    const ok = await waitPhase('ok', ['Succeeded', 'Failed']);
    assert.equal(ok.status?.phase, 'Succeeded');
    const okT = ok.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(okT?.exitCode, 0);
    assert.equal(okT?.reason, 'Completed');
    assert.equal(okT?.message, 'hello from the pod');
    assert.ok(okT?.startedAt && okT.finishedAt);
    const bad = await waitPhase('bad', ['Succeeded', 'Failed']);
    assert.equal(bad.status?.phase, 'Failed');
    const badT = bad.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(badT?.exitCode, 3);
    assert.equal(badT?.reason, 'Error');
    assert.equal(badT?.message?.length, 4096);
    assert.equal(bad.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    // A finished pod's network namespace is gone; its IP stays in status, like a kubelet's.
    assert.ok(bad.status?.podIP);
    assert.equal(await netnsExists(podNetns(bad.status?.podIP ?? '')), false);
  });

  it('restarts failed containers under OnFailure and counts restarts', async () => {
    await createPod(NS, toolPod('retry', ['exit', '--code', '1'], { restartPolicy: 'OnFailure' }));
    const p = await waitFor(
      'restartCount >= 2',
      async () => {
        const x = await coreApi().readNamespacedPod({ name: 'retry', namespace: NS });
        return (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? x : undefined;
      },
      20_000,
      100,
    );
    assert.equal(p.status?.phase, 'Running');
    assert.equal(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
  });

  it('a writer of /dev/termination-log leaves no file in the host /dev', () => {
    assert.equal(existsSync('/dev/termination-log'), false);
  });

  it('sets env (values, fieldRefs, HOSTNAME) and runs as the securityContext user', async () => {
    await createPod(NS, {
      metadata: { name: 'env', labels: { app: 'envcheck' } },
      spec: {
        restartPolicy: 'Never',
        securityContext: { runAsUser: 65532, runAsGroup: 65533 },
        containers: [
          {
            name: 'main',
            image: LAB_TOOL_IMAGE,
            command: ['nettool', 'env'],
            env: [
              { name: 'PLAIN', value: 'v1' },
              { name: 'EXPANDED', value: '$(PLAIN)-x' },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            ],
          },
        ],
      },
    });
    const p = await waitPhase('env', ['Succeeded', 'Failed']);
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(p.status?.phase, 'Succeeded', JSON.stringify(t));
    const info = JSON.parse(t?.message ?? '{}') as { uid: number; gid: number; env: Record<string, string> };
    assert.equal(info.uid, 65532);
    assert.equal(info.gid, 65533);
    assert.equal(info.env.PLAIN, 'v1');
    assert.equal(info.env.EXPANDED, 'v1-x');
    assert.equal(info.env.POD_NAME, 'env');
    assert.equal(info.env.POD_NS, NS);
    assert.equal(info.env.POD_IP, p.status?.podIP);
    assert.equal(info.env.NODE, p.spec?.nodeName);
    assert.equal(info.env.APP, 'envcheck');
    assert.equal(info.env.HOSTNAME, 'env');
  });

  it('applies the restricted securityContext: capabilities.drop ALL and no privilege escalation', async () => {
    await createPod(NS, {
      metadata: { name: 'restricted' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: LAB_TOOL_IMAGE,
            command: ['nettool', 'env'],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    });
    const p = await waitPhase('restricted', ['Succeeded', 'Failed']);
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(p.status?.phase, 'Succeeded', JSON.stringify(t));
    const info = JSON.parse(t?.message ?? '{}') as { uid: number; capEff: string; noNewPrivs: string };
    assert.equal(info.uid, 0);
    assert.equal(info.capEff, '0000000000000000');
    assert.equal(info.noNewPrivs, '1');
  });

  it('a non-root server binds port 80 (ip_unprivileged_port_start=0 in the pod netns)', async () => {
    const pod = serverPod('nonroot', { node: labNodes()[1] ?? '' });
    if (pod.spec) pod.spec.securityContext = { runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true };
    await createPod(NS, pod);
    const p = await waitPodRunning(NS, 'nonroot');
    await createPod(NS, serverPod('client', { node: labNodes()[0] ?? '' }));
    await waitPodRunning(NS, 'client');
    // Running is not listening yet (as in any cluster): poll.
    await expectReach(NS, 'client', [`tcp:${p.status?.podIP}:80`, `udp:${p.status?.podIP}:80`], true, 10_000);
  });

  it('honours readinessGates: Ready only once every gate condition is True', async () => {
    const pod = serverPod('gated');
    if (pod.spec) pod.spec.readinessGates = [{ conditionType: 'lab.netaudit.dev/gate' }];
    await createPod(NS, pod);
    const p = await waitPodRunning(NS, 'gated');
    const cond = (x: k8s.V1Pod, t: string) => x.status?.conditions?.find((c) => c.type === t)?.status;
    assert.equal(cond(p, 'ContainersReady'), 'True');
    assert.equal(cond(p, 'Ready'), 'False');
    await coreApi().patchNamespacedPodStatus(
      {
        name: 'gated',
        namespace: NS,
        body: { status: { conditions: [{ type: 'lab.netaudit.dev/gate', status: 'True' }] } },
      },
      (await import('@kubernetes/client-node')).setHeaderOptions(
        'Content-Type',
        'application/strategic-merge-patch+json',
      ),
    );
    await waitFor(
      'Ready after the gate',
      async () =>
        cond(await coreApi().readNamespacedPod({ name: 'gated', namespace: NS }), 'Ready') === 'True',
      10_000,
      100,
    );
  });

  it('reports an image it cannot run as a kubelet reports a failed pull (ErrImagePull, then ImagePullBackOff)', async () => {
    await createPod(NS, {
      metadata: { name: 'nginx' },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
    });
    const waiting = async () =>
      (await coreApi().readNamespacedPod({ name: 'nginx', namespace: NS })).status?.containerStatuses?.[0]
        ?.state?.waiting;
    const pulled = await waitFor(
      'ErrImagePull',
      async () => {
        const w = await waiting();
        return w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff' ? w : undefined;
      },
      10_000,
      50,
    );
    assert.match(pulled.message ?? '', /cannot run image nginx:1\.27.*only ghcr\.io\/netaudit\/netaudit:dev/);
    const backOff = await waitFor(
      'ImagePullBackOff',
      async () => {
        const w = await waiting();
        return w?.reason === 'ImagePullBackOff' ? w : undefined;
      },
      10_000,
      50,
    );
    assert.match(
      backOff.message ?? '',
      /^Back-off pulling image "nginx:1\.27": ErrImagePull: failed to pull image/,
    );
    const p = await coreApi().readNamespacedPod({ name: 'nginx', namespace: NS });
    assert.equal(p.status?.phase, 'Pending', 'a pod whose image cannot be pulled stays Pending');
    assert.equal(p.status?.reason, undefined);
    assert.equal(p.status?.podIP, undefined);
  });

  it('reports a command its image does not have as RunContainerError, or StartError with restartPolicy Never', async () => {
    await createPod(NS, {
      metadata: { name: 'shell' },
      spec: { containers: [{ name: 'main', image: LAB_IMAGE, command: ['sh', '-c', 'true'] }] },
    });
    await createPod(NS, {
      metadata: { name: 'shell-once' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: LAB_IMAGE, command: ['sh'] }] },
    });
    const w = await waitFor(
      'RunContainerError',
      async () => {
        const p = await coreApi().readNamespacedPod({ name: 'shell', namespace: NS });
        const state = p.status?.containerStatuses?.[0]?.state?.waiting;
        return state?.reason === 'RunContainerError' ? { p, state } : undefined;
      },
      10_000,
      50,
    );
    assert.match(w.state.message ?? '', /^exec: "sh": executable file not found in \$PATH/);
    assert.equal(w.p.status?.phase, 'Pending');
    const once = await waitPhase('shell-once', ['Failed'], 10_000);
    const t = once.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(t?.reason, 'StartError');
    assert.equal(t?.exitCode, 128);
    assert.match(t?.message ?? '', /^exec: "sh": executable file not found in \$PATH/);
  });

  it('maps the netaudit image to the local build (bin/netaudit)', async () => {
    await createPod(NS, {
      metadata: { name: 'netaudit-help' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: LAB_IMAGE, command: ['netaudit', '--help'] }],
      },
    });
    const p = await waitPhase('netaudit-help', ['Succeeded', 'Failed']);
    assert.equal(p.status?.phase, 'Succeeded', JSON.stringify(p.status?.containerStatuses));
  });

  it('kills the pod at activeDeadlineSeconds (Failed, DeadlineExceeded)', async () => {
    await createPod(NS, toolPod('deadline', ['serve', '--port', '80/TCP'], { activeDeadlineSeconds: 2 }));
    const p = await waitPhase('deadline', ['Failed'], 15_000);
    assert.equal(p.status?.reason, 'DeadlineExceeded');
  });

  it('deletion stops the process and removes the netns, then the pod object', async () => {
    await createPod(NS, serverPod('doomed'));
    const p = await waitPodRunning(NS, 'doomed');
    const netns = podNetns(p.status?.podIP ?? '');
    assert.equal(await netnsExists(netns), true);
    await coreApi().deleteNamespacedPod({ name: 'doomed', namespace: NS });
    await waitFor(
      'pod object gone',
      async () => {
        try {
          await coreApi().readNamespacedPod({ name: 'doomed', namespace: NS });
          return false;
        } catch {
          return true;
        }
      },
      15_000,
      50,
    );
    assert.equal(await netnsExists(netns), false);
  });

  it('a storm of 40 pods created at once on one node: all run, each only once programmed', async () => {
    const node = labNodes()[1] ?? '';
    const names = Array.from({ length: 40 }, (_, i) => `storm-${i}`);
    const t0 = Date.now();
    await Promise.all(
      names.map((n) => createPod(NS, serverPod(n, { node, server: 'tool', ports: ['80/TCP'] }))),
    );
    const pods = await Promise.all(names.map((n) => waitPodRunning(NS, n, 120_000)));
    const ms = Date.now() - t0;
    const ips = pods.map((p) => p.status?.podIP ?? '');
    assert.equal(new Set(ips).size, names.length, `distinct pod IPs: ${ips.join(' ')}`);
    // Running implies programmed, for every pod of the storm. (Cilium: ADD returned after the
    // endpoint's first build, so a later regeneration, which another storm pod's can cause, counts.)
    if (labEnforcer() === 'cilium') {
      const built = ['ready', 'waiting-to-regenerate', 'regenerating'];
      const ready = new Set(
        (await ciliumEndpoints(node))
          .filter((e) => built.includes(e.status?.state ?? ''))
          .flatMap((e) => e.status?.networking?.addressing?.map((a) => a.ipv4) ?? []),
      );
      assert.deepEqual(
        ips.filter((ip) => !ready.has(ip)),
        [],
        'pods Running without a built Cilium endpoint',
      );
    } else {
      const rules = (await inNetns(node, 'iptables', ['-S', 'KUBE-ROUTER-FORWARD'])).stdout;
      assert.deepEqual(
        ips.filter((ip) => !new RegExp(`-d ${ip.replaceAll('.', '\\.')}/32 .*KUBE-POD-FW-`).test(rules)),
        [],
        'pods Running without kube-router rules',
      );
    }
    process.stderr.write(`# ${names.length} pods on ${node} Running ${ms} ms after their creation\n`);
    await Promise.all(names.map((name) => coreApi().deleteNamespacedPod({ name, namespace: NS })));
  });

  it('pods set up while the API server goes away run once it is back: their status is written again', async () => {
    const node = labNodes()[0] ?? '';
    const names = Array.from({ length: 12 }, (_, i) => `outage-${i}`);
    await Promise.all(
      names.map((n) => createPod(NS, serverPod(n, { node, server: 'tool', ports: ['80/TCP'] }))),
    );
    // The agent sets each pod's network up and then writes its status: the API server dies meanwhile
    // (as in a restart, or an overload that times requests out) and comes back a few seconds later.
    await new Promise((r) => setTimeout(r, 300));
    const pid = readState().processes['kube-apiserver']?.pid;
    assert.ok(pid, 'kube-apiserver pid');
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    await labCommand(['up']);
    const pods = await Promise.all(names.map((n) => waitPodRunning(NS, n, 120_000)));
    assert.deepEqual(
      pods.filter((p) => p.status?.phase !== 'Running').map((p) => p.metadata?.name),
      [],
      'every pod Running',
    );
    await Promise.all(names.map((name) => coreApi().deleteNamespacedPod({ name, namespace: NS })));
  });

  it('a restarted agent re-adopts running pods and does not reuse their IPs', async () => {
    const node = labNodes()[0] ?? '';
    await createPod(NS, serverPod('survivor', { node }));
    const before = await waitPodRunning(NS, 'survivor');
    const name = `agent-${node}`;
    const rec = readState().processes[name];
    assert.ok(rec && isAlive(rec));
    process.kill(rec.pid, 'SIGKILL');
    await waitFor('agent gone', () => !isAlive(rec), 5000, 20);
    const cilium = labEnforcer() === 'cilium';
    const ip = before.status?.podIP ?? '';
    if (cilium) {
      // The pod's endpoint goes while its node agent is away: the re-adopting agent's CNI CHECK
      // must find that out and program it again.
      const ep = (await ciliumEndpoints(node)).find((e) =>
        e.status?.networking?.addressing?.some((a) => a.ipv4 === ip),
      );
      assert.ok(ep, `a Cilium endpoint for ${ip}`);
      const del = await agentApi(node, 'DELETE', `/endpoint/${ep.id}`);
      assert.equal(del.status, 200, del.body);
      assert.equal(await endpointReady(node, ip), false);
    }
    // The pod keeps running while its agent is away.
    await createPod(NS, serverPod('while-away', { node }));
    await ensureLabUp();
    const other = await waitPodRunning(NS, 'while-away');
    assert.notEqual(other.status?.podIP, before.status?.podIP);
    const after1 = await coreApi().readNamespacedPod({ name: 'survivor', namespace: NS });
    assert.equal(after1.status?.phase, 'Running');
    assert.equal(after1.status?.podIP, before.status?.podIP);
    if (cilium) await waitFor(`the endpoint of ${ip} again`, () => endpointReady(node, ip), 60_000, 200);
    await expectReach(NS, 'while-away', [`tcp:${before.status?.podIP}:80`], true, 10_000);
    // And it still finalises the re-adopted pod's deletion.
    await coreApi().deleteNamespacedPod({ name: 'survivor', namespace: NS });
    await waitFor(
      're-adopted pod deleted',
      async () => !(await netnsExists(podNetns(before.status?.podIP ?? ''))),
      15_000,
      100,
    );
  });
});
