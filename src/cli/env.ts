// Flag defaults from the environment, for the controller's Deployment: --interval reads
// NETAUDIT_INTERVAL, --exclude-namespace reads NETAUDIT_EXCLUDE_NAMESPACE (comma-separated), ...
// A flag on the command line wins.

export function envName(flag: string): string {
  return `NETAUDIT_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function envString(flag: string, fallback: string): string {
  return process.env[envName(flag)] ?? fallback;
}

export function envNumber(flag: string, fallback: number): number {
  const v = process.env[envName(flag)];
  return v === undefined || v === '' || Number.isNaN(Number(v)) ? fallback : Number(v);
}

export function envBoolean(flag: string, fallback: boolean): boolean {
  const v = process.env[envName(flag)]?.toLowerCase();
  return v === undefined ? fallback : v === 'true' || v === '1' || v === 'yes';
}

export function envList(flag: string): string[] {
  const v = process.env[envName(flag)];
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}
