/**
 * What a container runs: the images the lab maps to local programs, the container's command and
 * environment (with fieldRefs), and the user and privileges it runs with.
 */
import { dirname } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { COMPILE_CACHE, NETAUDIT_BIN, NETTOOL, NODE_BIN } from '../config.ts';
import { LAB_IMAGE, LAB_TOOL_IMAGE } from '../image.ts';
import { node } from './context.ts';
import { type PodRec, serviceAccountDir } from './records.ts';
import { apiServerEnv, serviceAccountMount } from './service-account.ts';

/**
 * A container the lab cannot start says why in the kubelet's own terms: an image it cannot run is an
 * image it cannot pull, a command its image does not have is a command not found at start.
 */
export type Resolved = { argv: string[] } | { problem: 'image' | 'command'; message: string };

export function resolveCommand(c: k8s.V1Container, env: Record<string, string>): Resolved {
  const image = c.image ?? '';
  const expand = (s: string) =>
    s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) =>
      m === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : m,
    );
  const command = (c.command ?? []).map(expand);
  const args = (c.args ?? []).map(expand);
  if (image === LAB_IMAGE) {
    const argv = command.length ? [...command, ...args] : ['netaudit', ...args];
    const first = argv[0] ?? '';
    if (first !== 'netaudit' && !first.endsWith('/netaudit')) {
      return {
        problem: 'command',
        message: `exec: "${first}": executable file not found in $PATH (the netaudit lab runs image ${LAB_IMAGE} as the local netaudit build, which has only its netaudit command)`,
      };
    }
    return { argv: [NETAUDIT_BIN, ...argv.slice(1)] };
  }
  if (image === LAB_TOOL_IMAGE) {
    const argv = command.length ? [...command, ...args] : ['nettool', ...args];
    const first = argv[0] ?? '';
    if (first !== 'nettool') {
      return {
        problem: 'command',
        message: `exec: "${first}": executable file not found in $PATH (image ${LAB_TOOL_IMAGE} has only the lab's nettool command)`,
      };
    }
    return { argv: [NODE_BIN, '--disable-warning=ExperimentalWarning', NETTOOL, ...argv.slice(1)] };
  }
  return {
    problem: 'image',
    message: `failed to pull image "${image}": the netaudit lab has no container runtime and cannot run image ${image}; only ${LAB_IMAGE} runs (the local netaudit build) and ${LAB_TOOL_IMAGE} (the lab's network tool)`,
  };
}

function fieldRef(pod: k8s.V1Pod, rec: PodRec, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return rec.name;
    case 'metadata.namespace':
      return rec.namespace;
    case 'metadata.uid':
      return rec.uid;
    case 'spec.nodeName':
      return node.name;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return rec.ip;
    case 'status.hostIP':
    case 'status.hostIPs':
      return node.ip;
    default:
      return '';
  }
}

export function containerEnv(pod: k8s.V1Pod, rec: PodRec, c: k8s.V1Container): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${dirname(NODE_BIN)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOSTNAME: rec.name,
    HOME: '/root',
    ...apiServerEnv(),
    // The image's own ENV, which a container's env may override.
    ...(c.image === LAB_IMAGE ? { NODE_COMPILE_CACHE: COMPILE_CACHE } : {}),
  };
  const sa = serviceAccountMount(pod);
  // pod-exec.sh bind-mounts these (SOURCE=TARGET;...) in the container's own mount namespace.
  if (sa) env.NALAB_MOUNTS = `${serviceAccountDir(rec.uid)}=${sa.mountPath}`;
  const expand = (s: string) =>
    s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m2, name?: string) =>
      m2 === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : m2,
    );
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, rec, e.valueFrom.fieldRef.fieldPath);
    else env[e.name] = '';
  }
  return env;
}

export function securityIds(pod: k8s.V1Pod, c: k8s.V1Container): { uid: string; gid: string; opts: string } {
  const uid = c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid = c.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup;
  const opts: string[] = [];
  if (c.securityContext?.allowPrivilegeEscalation === false) opts.push('nnp');
  if (c.securityContext?.capabilities?.drop?.some((x) => x.toUpperCase() === 'ALL')) opts.push('dropall');
  return {
    uid: uid === undefined ? '-' : String(uid),
    gid: gid === undefined ? '-' : String(gid),
    opts: opts.join(',') || '-',
  };
}
