// Kubernetes' own syntax rules for names, label keys and values, and port names
// (k8s.io/apimachinery/pkg/util/validation). Each check returns the reasons a value is invalid,
// phrased so that a person can fix it; an empty list means valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function dns1123Label(value: string, maxLength = 63): string[] {
  const errs: string[] = [];
  if (value.length > maxLength) errs.push(`"${value}" is longer than ${maxLength} characters`);
  if (!DNS1123_LABEL.test(value)) {
    errs.push(
      `"${value}" is not a valid DNS-1123 label: use lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return errs;
}

export function dns1123Subdomain(value: string, maxLength = 253): string[] {
  const errs: string[] = [];
  if (value.length > maxLength) errs.push(`"${value}" is longer than ${maxLength} characters`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errs.push(
      `"${value}" is not a valid DNS-1123 subdomain: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }
  return errs;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 characters. */
export function labelKey(key: string): string[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const errs: string[] = [];
  if (prefix !== undefined) {
    if (prefix === '') errs.push(`label key "${key}" has an empty prefix before '/'`);
    else if (key.indexOf('/') !== slash) errs.push(`label key "${key}" may contain at most one '/'`);
    else if (dns1123Subdomain(prefix).length > 0) {
      errs.push(
        `label key prefix "${prefix}" must be a DNS subdomain of lower-case letters, digits, '-' and '.'`,
      );
    }
  }
  if (name === '') errs.push(`label key "${key}" has an empty name`);
  else if (name.length > 63) errs.push(`label key name "${name}" is longer than 63 characters`);
  else if (!QUALIFIED_NAME_PART.test(name)) {
    errs.push(
      `label key "${key}" is not valid: the name must use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
    );
  }
  return errs;
}

export function labelValue(value: string): string[] {
  if (value.length > 63) return [`label value "${value}" is longer than 63 characters`];
  if (!LABEL_VALUE.test(value)) {
    return [
      `label value "${value}" is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or leave it empty)`,
    ];
  }
  return [];
}

/** IANA_SVC_NAME (RFC 6335), the syntax of named ports. */
export function portName(name: string): string[] {
  const why: string[] = [];
  if (name.length < 1 || name.length > 15) why.push('1-15 characters');
  if (!/^[-a-z0-9]*$/.test(name)) why.push("only lower-case letters, digits and '-'");
  if (!/[a-z]/.test(name)) why.push('at least one letter');
  if (name.startsWith('-') || name.endsWith('-')) why.push("no '-' at the start or end");
  if (name.includes('--')) why.push("no '--'");
  if (why.length === 0) return [];
  return [`port name "${name}" is not a valid IANA service name: it needs ${why.join(', ')}`];
}
