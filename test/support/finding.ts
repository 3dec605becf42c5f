// A confirmed unexpected-allow from shop/api-1 to shop/db-0 on 5432/TCP, ingress isolated by
// shop/db-ingress and not enforced on node-2: the finding tests start from and vary.
import type { Finding } from '../../src/core/flow.ts';

export function finding(over: Partial<Finding> = {}): Finding {
  return {
    from: 'shop/api-1',
    to: 'shop/db-0',
    port: 5432,
    protocol: 'TCP',
    expected: 'deny',
    observed: 'connected',
    kind: 'unexpected-allow',
    because: [{ kind: 'isolates', policy: { namespace: 'shop', name: 'db-ingress' }, direction: 'ingress' }],
    nodes: ['node-2'],
    srcNode: 'node-1',
    dstNode: 'node-2',
    fromClass: 'c1',
    toClass: 'c2',
    fromPods: ['shop/api-1'],
    toPods: ['shop/db-0'],
    probePods: { client: 'shop/netaudit-cli-c1-n0', server: 'shop/netaudit-srv-c2-n1' },
    explanation: [],
    ...over,
  };
}
