// The values `--profile` takes. Apart from the detection (profile-flag.ts) so that the command
// definitions, which every start of the CLI loads (the probe agent's too), pull in no Kubernetes client.
import { PROFILE_NAMES } from '../policy/profiles.ts';

export const PROFILE_CHOICES: readonly string[] = ['auto', ...PROFILE_NAMES];
