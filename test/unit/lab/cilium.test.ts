// The lab's Cilium agents: the flags that keep them off the rest of the machine are always there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeSpec } from '../../../lab/config.ts';
import { ciliumAgentCommand } from '../../../lab/enforcer/cilium.ts';

test('a Cilium agent never hooks the machine: no socket LB, no kube-proxy replacement, kernel.* masked', () => {
  const { argv, env } = ciliumAgentCommand(nodeSpec(2), '/x/cilium.kubeconfig', 'default');
  // cgroup hooks ignore network namespaces: socket LB would hook every process of the machine.
  for (const f of ['--kube-proxy-replacement=false', '--bpf-lb-sock=false', '--enable-ipv4-masquerade=false'])
    assert.ok(argv.includes(f), f);
  assert.ok(argv.includes('--enable-policy=default'));
  // The two machine-wide sysctls the agent writes are read-only in its own mount namespace.
  const wrapper = argv[2] ?? '';
  for (const k of ['unprivileged_bpf_disabled', 'timer_migration']) assert.match(wrapper, new RegExp(k));
  assert.match(wrapper, /remount,bind,ro/);
  assert.match(wrapper, /mount --bind "\$C\/bpffs" \/sys\/fs\/bpf/);
  assert.equal(env.K8S_NODE_NAME, 'nalab-node-2');
  assert.match(env.C ?? '', /\/cilium\/nalab-node-2$/);
  assert.match(env.PATH ?? '', /^\/usr\/lib\/llvm-19\/bin:/);
});

test('an agent (re)started under enforcer-off keeps enforcement off', () => {
  const { argv } = ciliumAgentCommand(nodeSpec(1), '/x/k', 'never');
  assert.ok(argv.includes('--enable-policy=never'));
  assert.ok(!argv.includes('--enable-policy=default'));
});
