// Parity with the API server: every object of the corpus (test/fixtures/parity) is sent as written
// to the lab's kube-apiserver (POST as application/yaml, the JSON cases as application/json;
// server-side dry run, strict field validation as kubectl's default) and read by netaudit (as a
// .yaml or .json file); the two must agree on accept or reject,
// and for accepted objects on what the API server defaults (podSelector, policyTypes, protocols,
// port values). The server reads the YAML itself, with the same reader kubectl converts with.
// Needs the lab (root); it never skips: run it where `scripts/lab up` works.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ensureLabUp, kubeRequest } from '../../lab/lab.ts';
import { parseManifests } from '../../src/model/manifests.ts';
import { generatedCases, type ParityCase } from '../fixtures/parity/generated.ts';
import { jsonCases } from '../fixtures/parity/json-cases.ts';

const NS = 'netaudit-parity';

/** Where each kind is served (written here, not taken from netaudit, to route near-miss kinds). */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  networkpolicy: { plural: 'networkpolicies', namespaced: true },
  pod: { plural: 'pods', namespaced: true },
  namespace: { plural: 'namespaces', namespaced: false },
  deployment: { plural: 'deployments', namespaced: true },
  statefulset: { plural: 'statefulsets', namespaced: true },
  cronjob: { plural: 'cronjobs', namespaced: true },
};

function resourceOf(kind: string): { plural: string; namespaced: boolean } {
  let k = kind.toLowerCase().replace(/\s+/g, '');
  if (k.endsWith('ies')) k = `${k.slice(0, -3)}y`;
  else if (k.endsWith('s')) k = k.slice(0, -1);
  const r = RESOURCES[k];
  if (!r) throw new Error(`the parity test has no route for kind ${kind}`);
  return r;
}

function handWritten(): ParityCase[] {
  const text = readFileSync(new URL('../fixtures/parity/hand-written.yaml', import.meta.url), 'utf8');
  return text
    .split(/^---$/m)
    .map((doc) => {
      const titles = doc.split('\n').filter((l) => l.startsWith('# ') && !l.startsWith('# ---'));
      return { title: titles.at(-1)?.slice(2) ?? '?', text: doc.replace(/^\n/, '') };
    })
    .filter((c) => /^kind:/m.test(c.text));
}

interface Decision {
  readonly accepted: boolean;
  readonly detail: string;
  readonly object?: Record<string, unknown>;
}

async function server(c: ParityCase): Promise<Decision> {
  const head = (field: string): string | undefined =>
    c.json
      ? new RegExp(`"${field}":\\s*"([^"]*)"`).exec(c.text)?.[1]
      : new RegExp(`^${field}:[ \\t]*(.+)$`, 'm').exec(c.text)?.[1]?.trim();
  const kind = head('kind') ?? '';
  const apiVersion = head('apiVersion') ?? '';
  const r = resourceOf(kind);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const path = `${base}${r.namespaced ? `/namespaces/${NS}` : ''}/${r.plural}?dryRun=All&fieldValidation=Strict`;
  try {
    const type = c.json ? 'application/json' : 'application/yaml';
    const object = await kubeRequest<Record<string, unknown>>('POST', path, c.text, type);
    return { accepted: true, detail: 'created (dry run)', object };
  } catch (e: unknown) {
    const code = (e as { code?: unknown }).code;
    // 4xx is the API server's answer (invalid, not found, unsupported); anything else is not a decision.
    if (typeof code === 'number' && code >= 400 && code < 500)
      return { accepted: false, detail: e instanceof Error ? e.message.slice(0, 300) : String(e) };
    throw e;
  }
}

function netaudit(c: ParityCase): Decision & { load: ReturnType<typeof parseManifests> } {
  const file = c.json ? 'case.json' : 'case.yaml';
  const load = parseManifests([{ file, text: c.text }], { defaultNamespace: NS });
  const errors = load.issues.filter((i) => i.severity === 'error');
  const objects = load.pods.length + load.policies.length + load.namespaces.filter((n) => !n.implied).length;
  return {
    accepted: errors.length === 0 && objects > 0,
    detail: errors.map((e) => `${e.field ?? ''}: ${e.message}`).join('; ') || `${objects} object(s)`,
    load,
  };
}

type Json = Record<string, unknown>;

/** A value in a form both sides can be compared in: keys sorted, empty lists left out (the API server omits them). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v !== 'object' || v === null) return v;
  const out: Json = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Json)[k];
    if (x === undefined || (Array.isArray(x) && x.length === 0)) continue;
    out[k] = plain(x);
  }
  return out;
}

/** What the API server defaults on a policy or pod, in the form both sides can be compared in. */
function defaultsOf(kind: string, o: Json | undefined): unknown {
  if (o === undefined) return undefined;
  const spec = (o.spec ?? {}) as Json;
  if (kind === 'NetworkPolicy') {
    const rules = (key: 'ingress' | 'egress') =>
      ((spec[key] ?? []) as Json[]).map((r) => ((r.ports ?? []) as Json[]).map(plain));
    return plain({
      podSelector: spec.podSelector,
      policyTypes: spec.policyTypes,
      ingress: rules('ingress'),
      egress: rules('egress'),
    });
  }
  if (kind === 'Pod') {
    return ((spec.containers ?? []) as Json[]).map((c) =>
      ((c.ports ?? []) as Json[]).map((p) =>
        plain({ containerPort: p.containerPort, protocol: p.protocol, name: p.name }),
      ),
    );
  }
  return undefined;
}

describe('netaudit reads manifests as the API server does', { timeout: 600_000 }, () => {
  before(async () => {
    await ensureLabUp();
    try {
      await kubeRequest('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NS },
      });
    } catch (e: unknown) {
      if ((e as { code?: unknown }).code !== 409) throw e;
    }
    // Pods are admitted only once the namespace's default ServiceAccount exists.
    for (let i = 0; ; i++) {
      try {
        await kubeRequest('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`);
        break;
      } catch (e: unknown) {
        if (i > 60) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  });

  after(async () => {
    await kubeRequest('DELETE', `/api/v1/namespaces/${NS}`).catch(() => undefined);
  });

  it('agrees on every object of the corpus: accept or reject, and the defaults of what it accepts', async () => {
    const cases = [...handWritten(), ...generatedCases(), ...jsonCases()];
    assert.ok(cases.length > 250, `corpus too small: ${cases.length}`);
    const disagreements: string[] = [];
    let accepted = 0;
    for (const c of cases) {
      const s = await server(c);
      const n = netaudit(c);
      if (s.accepted) accepted++;
      if (s.accepted !== n.accepted) {
        disagreements.push(
          `${c.title}: API server ${s.accepted ? 'accepts' : 'rejects'} (${s.detail}); netaudit ${n.accepted ? 'accepts' : 'rejects'} (${n.detail})`,
        );
        continue;
      }
      if (!s.accepted) continue;
      const kind = String(s.object?.kind ?? '');
      const ours =
        kind === 'NetworkPolicy'
          ? n.load.policies[0]?.object
          : kind === 'Pod'
            ? n.load.pods[0]?.object
            : undefined;
      const theirs = defaultsOf(kind, s.object);
      const mine = defaultsOf(kind, ours as Json | undefined);
      if (JSON.stringify(theirs) !== JSON.stringify(mine))
        disagreements.push(
          `${c.title}: defaults differ: API server ${JSON.stringify(theirs)}, netaudit ${JSON.stringify(mine)}`,
        );
    }
    process.stderr.write(
      `parity: ${cases.length} objects, ${accepted} accepted by the API server, ${disagreements.length} disagreements\n`,
    );
    assert.deepEqual(disagreements, []);
  });
});
