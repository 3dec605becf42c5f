// The flags that say how probes run, declared and parsed once for `audit` and `controller`: both
// probe the same way, so a default or a check cannot drift between them. The controller's
// defaults also read NETAUDIT_<FLAG> (its Deployment configures it that way).
import type { Argv } from 'yargs';
import { envBoolean, envList, envNumber, envString } from './env.ts';
import { PROFILE_CHOICES } from './profile-choices.ts';

/** The probe image: netaudit's own image (it runs `netaudit agent serve|probe`). */
export const DEFAULT_IMAGE = process.env.NETAUDIT_IMAGE ?? 'ghcr.io/netaudit/netaudit:v0.1.0';

/** The probe flags as yargs hands them over. */
export interface ProbeFlags {
  readonly port: readonly string[];
  readonly external: readonly string[];
  readonly profile: string;
  readonly image: string;
  readonly timeout: string;
  readonly attempts: number;
  readonly confirmAttempts: number;
  readonly clientDelay: string;
  readonly podTimeout: string;
  readonly concurrency: number;
  readonly rate: number;
  readonly tolerateTaints: boolean;
  readonly nodeSelector: string;
}

/** Declares the probe flags; `fromEnv` lets NETAUDIT_<FLAG> set their defaults. */
export function probeFlagOptions(y: Argv, fromEnv: boolean): Argv {
  const str = (flag: string, d: string) => (fromEnv ? envString(flag, d) : d);
  const num = (flag: string, d: number) => (fromEnv ? envNumber(flag, d) : d);
  const bool = (flag: string, d: boolean) => (fromEnv ? envBoolean(flag, d) : d);
  const list = (flag: string) => (fromEnv ? envList(flag) : []);
  return y
    .option('port', {
      type: 'string',
      array: true,
      default: list('port'),
      describe: 'Probe exactly these ports, e.g. 80/TCP (repeatable)',
    })
    .option('external', {
      type: 'string',
      array: true,
      default: list('external'),
      describe:
        'External target probed for egress, with the ports it listens on: 203.0.113.8=80/TCP,53/UDP (repeatable)',
    })
    .option('profile', {
      type: 'string',
      choices: PROFILE_CHOICES,
      default: str('profile', 'auto'),
      describe: 'CNI profile; auto detects Cilium, Calico or kube-router from what runs in the cluster',
    })
    .option('image', {
      type: 'string',
      default: str('image', DEFAULT_IMAGE),
      describe: "Probe image (netaudit's own image)",
    })
    .option('timeout', {
      type: 'string',
      default: str('timeout', '1s'),
      describe: 'Connect timeout per attempt',
    })
    .option('attempts', {
      type: 'number',
      default: num('attempts', 1),
      describe: 'Attempts per probe (1-10)',
    })
    .option('confirm-attempts', {
      type: 'number',
      default: num('confirm-attempts', 3),
      describe: 'Attempts when re-probing a mismatch before reporting it (1-10)',
    })
    .option('client-delay', {
      type: 'string',
      default: str('client-delay', '2s'),
      describe: 'Client pods wait this long before probing (CNI learns their IP)',
    })
    .option('pod-timeout', {
      type: 'string',
      default: str('pod-timeout', '90s'),
      describe: 'How long to wait for probe pods',
    })
    .option('concurrency', {
      type: 'number',
      default: num('concurrency', 25),
      describe: 'Pod creations in flight',
    })
    .option('rate', { type: 'number', default: num('rate', 10), describe: 'Pod creations per second' })
    .option('tolerate-taints', {
      type: 'boolean',
      default: bool('tolerate-taints', true),
      describe:
        'Probe nodes with NoSchedule/NoExecute taints, as node monitoring agents do (--no-tolerate-taints: leave them out, reported not-covered)',
    })
    .option('node-selector', {
      type: 'string',
      default: str('node-selector', ''),
      describe: 'Probe only nodes with these labels, e.g. kubernetes.io/os=linux (others: not-covered)',
    });
}
