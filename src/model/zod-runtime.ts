// zod, loaded the first time an object needs it. Loading it costs as much as reading a few
// thousand objects (50-70 ms, over half of the analyze command's imports); well-formed Pods,
// Namespaces and NetworkPolicies never need it (fast-shape.ts), so a clean input of those kinds is
// read without it. require() keeps the loading synchronous, where a check needs it. Every runtime
// use of zod goes through here, so one copy of it makes every schema (zod-issues.ts compares their
// classes with instanceof).

import { createRequire } from 'node:module';
import type { z } from 'zod';

export type Zod = typeof z;

let loaded: Zod | undefined;

export function zod(): Zod {
  loaded ??= (createRequire(import.meta.url)('zod') as { z: Zod }).z;
  return loaded;
}
