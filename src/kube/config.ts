// Kubeconfig as kubectl finds it: --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then the
// in-cluster service account when running in a pod.
import * as k8s from '@kubernetes/client-node';
import { UsageError } from '../errors.ts';

export interface KubeConfigOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

export function loadKubeConfig(options: KubeConfigOptions = {}): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new UsageError(
      `cannot load the kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new UsageError(`context "${options.context}" is not in the kubeconfig`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError('no cluster in the kubeconfig: set --kubeconfig or KUBECONFIG, or run in a pod');
  }
  return kc;
}
