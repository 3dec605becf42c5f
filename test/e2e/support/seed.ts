// The examples of examples/seed/ as deployed in the lab (examples/lab/seed.yaml): their namespaces.
export const SEED_FILE = new URL('../../../examples/lab/seed.yaml', import.meta.url).pathname;

export const SEED_NAMESPACES = [
  'seed-demo',
  'seed-locked',
  'seed-open',
  'seed-suspicious',
  'seed-podsel',
  'production',
  'security',
  'dev',
  'seed-egress',
  'seed-except',
  'seed-ports',
] as const;
