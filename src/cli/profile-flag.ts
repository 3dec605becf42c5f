// `--profile auto|generic|calico|cilium|kube-router` for audit and controller: an explicit profile
// wins; `auto` (the default) detects the CNI from what runs in the cluster and logs what it found.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { UsageError } from '../errors.ts';
import { readCniEvidence } from '../kube/cni-evidence.ts';
import { type Detection, detectProfile } from '../policy/cni-detect.ts';
import { type CniProfile, isProfileName, PROFILES } from '../policy/profiles.ts';
import { PROFILE_CHOICES } from './profile-choices.ts';

/** Refuses a name that is neither `auto` nor a profile, before anything talks to the cluster. */
export function checkProfileFlag(name: string): void {
  if (name !== 'auto' && !isProfileName(name))
    throw new UsageError(`--profile "${name}" is not one of ${PROFILE_CHOICES.join(', ')}`);
}

export async function resolveProfile(
  kc: k8s.KubeConfig,
  name: string,
  logger: Logger,
): Promise<{ readonly profile: CniProfile; readonly detection: Detection | undefined }> {
  checkProfileFlag(name);
  if (isProfileName(name)) return { profile: PROFILES[name], detection: undefined };
  const detection = detectProfile(await readCniEvidence(kc));
  logger.info({ profile: detection.profile, found: detection.found }, `--profile auto: ${detection.reason}`);
  return { profile: PROFILES[detection.profile], detection };
}
