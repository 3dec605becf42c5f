// Probe pod manifests (pure). Every safety rule of a probe pod is here, in one place:
//   never Ready (a readiness gate netaudit never sets: Services never route to them)
//   a controller ownerReference (no ReplicaSet adopts them; deleting the owner deletes them)
//   the `restricted` Pod Security Standard; small requests and limits; no service-account token
//   netaudit's labels (found and deleted at the end, on shutdown, and as orphans at start-up)
//   activeDeadlineSeconds (they die even if netaudit never comes back)
import type * as k8s from '@kubernetes/client-node';
import { encodePlan } from '../probe/plan.ts';
import type { ClientRun, ClientSpec, ServerSpec } from '../probe/runner.ts';

export const LABEL_PROBE = 'netaudit.io/probe';
export const LABEL_INSTANCE = 'netaudit.io/instance';
export const LABEL_RUN = 'netaudit.io/run';
export const LABEL_CLASS = 'netaudit.io/class';
/** On servers kept across rounds: what they were made from (node, labels, ports, image), hashed. */
export const LABEL_SPEC = 'netaudit.io/spec';
export const NEVER_READY_GATE = 'netaudit.io/never-ready';
export const PROBE_UID = 65532;

export interface ProbePodContext {
  readonly image: string;
  readonly instance: string;
  readonly runId: string;
  /** The per-namespace owner (a ConfigMap of this run). */
  readonly owner: { readonly name: string; readonly uid: string };
  readonly serverDeadlineSeconds: number;
  readonly clientDeadlineSeconds: number;
}

export function ownerConfigMapName(runId: string): string {
  return `netaudit-run-${runId}`;
}

function baseLabels(
  ctx: ProbePodContext,
  role: 'server' | 'client',
  classId: string,
): Record<string, string> {
  return {
    [LABEL_PROBE]: role,
    [LABEL_INSTANCE]: ctx.instance,
    [LABEL_RUN]: ctx.runId,
    [LABEL_CLASS]: classId,
  };
}

function podShell(
  ctx: ProbePodContext,
  name: string,
  spec: ServerSpec | ClientSpec,
  role: 'server' | 'client',
  container: k8s.V1Container,
  deadline: number,
  kept?: KeptServer,
): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: spec.namespace,
      // The class's projected labels first, so netaudit's own keys can never be overwritten.
      labels: {
        ...spec.labels,
        ...baseLabels(ctx, role, spec.classId),
        ...(kept ? { [LABEL_SPEC]: kept.specHash } : {}),
      },
      annotations: {
        'netaudit.io/purpose': kept
          ? `netaudit server probe pod for class ${spec.classId}; kept across rounds while netaudit leads, deleted when its class changes or netaudit stops`
          : `netaudit ${role} probe pod for class ${spec.classId}; deleted at the end of the round`,
      },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: ctx.owner.name,
          uid: ctx.owner.uid,
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      nodeName: spec.node,
      restartPolicy: 'Never',
      activeDeadlineSeconds: deadline,
      terminationGracePeriodSeconds: 2,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      readinessGates: [{ conditionType: NEVER_READY_GATE }],
      // Tolerate every taint, as node monitoring agents do: enforcement is per node, and a tainted
      // node enforces (or fails to) like any other. A pod pinned by nodeName skips the scheduler, but a
      // NoExecute taint would still evict it. With `--no-tolerate-taints` rounds leave tainted nodes out.
      tolerations: [{ operator: 'Exists' }],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: PROBE_UID,
        runAsGroup: PROBE_UID,
        seccompProfile: { type: 'RuntimeDefault' },
        // A safe sysctl (allowed by `restricted`): lets the non-root server listen on ports below 1024.
        sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
      },
      containers: [container],
    },
  };
}

const containerSecurity: k8s.V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

const resources: k8s.V1ResourceRequirements = {
  requests: { cpu: '10m', memory: '48Mi' },
  limits: { cpu: '200m', memory: '128Mi' },
};

/** A server kept across rounds: its own name (a replacement may run beside it), life and spec hash. */
export interface KeptServer {
  readonly name: string;
  readonly deadlineSeconds: number;
  readonly specHash: string;
}

export function serverPod(ctx: ProbePodContext, spec: ServerSpec, kept?: KeptServer): k8s.V1Pod {
  return podShell(
    ctx,
    kept?.name ?? spec.key,
    spec,
    'server',
    {
      name: 'server',
      image: ctx.image,
      command: ['netaudit'],
      args: ['agent', 'serve', ...spec.listen.flatMap((p) => ['--port', `${p.port}/${p.protocol}`])],
      ports: spec.containerPorts.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        containerPort: p.port,
        protocol: p.protocol,
      })),
      securityContext: containerSecurity,
      resources,
    },
    kept?.deadlineSeconds ?? ctx.serverDeadlineSeconds,
    kept,
  );
}

export function clientPod(ctx: ProbePodContext, run: ClientRun): k8s.V1Pod {
  return podShell(
    ctx,
    run.name,
    run.spec,
    'client',
    {
      name: 'probe',
      image: ctx.image,
      command: ['netaudit'],
      args: [
        'agent',
        'probe',
        '--plan',
        encodePlan(run.plan),
        ...(run.delayMs > 0 ? ['--delay', `${run.delayMs}ms`] : []),
      ],
      securityContext: containerSecurity,
      resources,
      terminationMessagePolicy: 'File',
    },
    ctx.clientDeadlineSeconds,
  );
}
