// The image, without a container engine: the Dockerfile's COPY and RUN steps are executed in a scratch
// directory (each stage's filesystem a subdirectory, WORKDIR mapped into it, RUN under `sh -c` with the
// project's Node 24 standing in for the base image's), then the final stage's ENTRYPOINT runs from
// that copy, read-only and (when the test runs as root) as the image's USER, the way the Deployment
// runs it: --version, analyze on a seed example, and the probe agent serving and probing on loopback.
// Needs the npm registry (the build stage runs `npm ci`).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Dockerfile,
  execute,
  inRoot,
  makeReadOnly,
  parseDockerfile,
  type Stage,
  stageEnv,
} from './dockerfile.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The project's Node 24 (scripts/node-env.sh), standing in for the base image's /usr/local/bin/node. */
function nodeBinDir(): string {
  const provisioned = join(REPO, '.tools/node/node_modules/node/bin');
  if (existsSync(join(provisioned, 'node'))) return provisioned;
  assert.ok(
    Number(process.versions.node.split('.')[0]) >= 24,
    'run under Node 24 (source scripts/node-env.sh)',
  );
  return dirname(process.execPath);
}

/** The host environment a stage starts from: Node 24 first, none of the checkout's dev tools. */
function baseEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(
      (p) => p !== '' && !p.startsWith(join(REPO, 'node_modules')) && !p.startsWith(join(REPO, '.tools')),
    );
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [nodeBinDir(), ...path].join(delimiter) };
  delete env.NODE_OPTIONS;
  delete env.KUBECONFIG;
  delete env.NETAUDIT_IMAGE;
  return env;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The image's user as spawn options: only root can switch, and only then is it meaningful. */
function asImageUser(stage: Stage): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0 || stage.user === undefined) return {};
  const [uid, gid] = stage.user.split(':').map(Number);
  return { uid: uid as number, gid: gid ?? (uid as number) };
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false, encoding: 'utf8' }).sort();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

describe('Dockerfile, interpreted without Docker', { timeout: 600_000 }, () => {
  let df: Dockerfile;
  let stage: Stage;
  let root: string;
  let scratch: string;
  let writable: string;
  let env: NodeJS.ProcessEnv;
  let before_: string[];
  const children: ChildProcess[] = [];

  function entrypoint(args: readonly string[]): { command: string; args: string[] } {
    const ep = stage.entrypoint;
    assert.ok(Array.isArray(ep), 'ENTRYPOINT in exec form (signals reach node, not a shell)');
    const [first, ...rest] = ep as readonly string[];
    assert.ok(first, 'ENTRYPOINT names a program');
    return { command: first.startsWith('/') ? inRoot(root, first) : first, args: [...rest, ...args] };
  }

  function start(
    args: readonly string[],
    extraEnv: NodeJS.ProcessEnv = {},
  ): { child: ChildProcess; done: Promise<Run>; output: () => string } {
    const { command, args: argv } = entrypoint(args);
    const child = spawn(command, argv, {
      cwd: inRoot(root, stage.workdir),
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asImageUser(stage),
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const done = new Promise<Run>((ok) => child.on('close', (code) => ok({ code, stdout, stderr })));
    return { child, done, output: () => stdout + stderr };
  }

  const run = (args: readonly string[]): Promise<Run> => start(args).done;

  before(() => {
    df = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
    scratch = mkdtempSync(join(tmpdir(), 'netaudit-dockerfile-'));
    // The image's user must be able to reach its files, as in the image.
    chmodSync(scratch, 0o755);
    const result = execute(df, {
      context: REPO,
      scratch,
      env: baseEnv(),
      log: (line) => process.stderr.write(`# ${line}\n`),
    });
    stage = result.stage;
    root = result.root;
    env = { ...stageEnv(stage, root, baseEnv()), HOME: root };
    makeReadOnly(root);
    before_ = files(root);
    writable = join(scratch, 'writable');
    mkdirSync(writable, { mode: 0o777 });
    chmodSync(writable, 0o777);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (scratch) {
      // Read-only directories cannot be emptied: give them back their write bit first.
      spawnSync('chmod', ['-R', 'u+w', scratch]);
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('the final stage: built from node 24, non-root numeric USER, exec-form ENTRYPOINT, OCI labels', () => {
    assert.ok(df.stages.length >= 2, 'multi-stage: the npm work stays out of the final image');
    for (const s of df.stages)
      assert.match(s.base, /^node:24(\.\d+){0,2}-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    assert.match(stage.user ?? '', /^[1-9]\d*:[1-9]\d*$/, 'USER uid:gid, numeric and not 0 (runAsNonRoot)');
    assert.equal(stage.user, '65532:65532', 'the Deployment runs as 65532:65532');
    assert.deepEqual(stage.entrypoint, ['/app/bin/netaudit']);
    assert.equal(stage.env.NODE_ENV, 'production');
    assert.equal(stage.labels['org.opencontainers.image.title'], 'netaudit');
    assert.equal(stage.labels['org.opencontainers.image.version'], PKG.version, 'label matches package.json');
    assert.ok(stage.labels['org.opencontainers.image.source']);
    assert.ok(stage.labels['org.opencontainers.image.licenses']);
    const runs = stage.steps.flatMap((s) => (s.kind === 'RUN' ? [String(s.command)] : []));
    assert.deepEqual(
      runs.filter((c) => /\b(npm|npx|apt-get|apt|curl|wget)\b/.test(c)),
      [],
      'no package manager or download in the runtime layers',
    );
  });

  test("probe pods start from the compile cache the image's user made at build, and write nothing", async () => {
    assert.equal(stage.env.NODE_COMPILE_CACHE, '/app/.compile-cache');
    const r = await start(['agent', '--help'], { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }).done;
    assert.equal(r.code, 0, r.stderr);
    // Node reports each module whose compiled code it took from the cache.
    const accepted = r.stderr.match(/V8 code cache for ESM \S+ was accepted/g) ?? [];
    assert.ok(
      accepted.some((l) => l.includes('/app/src/cli/main.ts')) &&
        accepted.some((l) => l.includes('/app/src/probe/client.ts')),
      `the CLI and the probe client come from the cache: ${r.stderr.slice(0, 1500)}`,
    );
    assert.ok(accepted.length >= 50, `most modules come from the cache (${accepted.length} did)`);
  });

  test("node_modules holds exactly the lockfile's runtime packages: no dev dependency", () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const runtime: string[] = [];
    const dev: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path.startsWith('node_modules/')) continue;
      (entry.dev ? dev : runtime).push(path);
    }
    const app = inRoot(root, '/app');
    const missing = runtime.filter((p) => !existsSync(join(app, p)) && !lock.packages[p]?.optional);
    assert.deepEqual(missing, [], 'runtime packages missing from the image');
    const present = dev.filter((p) => existsSync(join(app, p)));
    assert.deepEqual(present, [], 'dev-only packages in the image');
    // Named too, so the check does not rest on the lockfile's dev flags alone.
    for (const name of [
      ...Object.keys(PKG.devDependencies).filter((n) => n !== '@types/node'),
      'fast-check',
    ]) {
      assert.ok(!existsSync(join(app, 'node_modules', name)), `dev dependency ${name} absent`);
    }
    for (const name of Object.keys(PKG.dependencies)) {
      assert.ok(existsSync(join(app, 'node_modules', name, 'package.json')), `dependency ${name} present`);
    }
    assert.ok(!existsSync(inRoot(root, '/app/test')), 'no tests in the image');
  });

  test('--version from the copied tree prints package.json version', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), PKG.version);
  });

  test('`netaudit` by name on the image PATH is the copied CLI (the manifests run command: [netaudit])', () => {
    const r = spawnSync('sh', ['-c', 'command -v netaudit'], { env, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), inRoot(root, '/app/bin/netaudit'));
  });

  test('analyze on a seed example prints its verdicts', async () => {
    const r = await run(['analyze', '-f', join(REPO, 'examples/seed/01-demo'), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout;
    assert.ok(text.includes('default/deployment-prod'), text.slice(0, 2000));
    const table = await run(['analyze', '-f', join(REPO, 'examples/seed/01-demo')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /3 pods in 1 namespaces, 1 policies/);
    // The demo's policy both allows and denies: both verdicts must show.
    assert.match(table.stdout, /default\/dev .*✗.*✓/);
    assert.match(table.stdout, /default\/scanner .*✓.*✓/);
  });

  test('agent serve on 127.0.0.1 answers agent probe over TCP and UDP; a closed port is refused', async () => {
    const port = await freePort();
    const closed = await freePort();
    const server = start([
      'agent',
      'serve',
      '--address',
      '127.0.0.1',
      '--port',
      `${port}/TCP`,
      '--port',
      `${port}/UDP`,
    ]);
    const deadline = Date.now() + 20_000;
    while ((server.output().match(/"msg":"listening"/g) ?? []).length < 2) {
      assert.ok(Date.now() < deadline, `agent serve did not listen: ${server.output()}`);
      assert.equal(server.child.exitCode, null, `agent serve exited: ${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = join(writable, 'termination-log');
    const plan = `v1,t=2000,a=1,0=127.0.0.1:${port}/TCP,1=127.0.0.1:${port}/UDP,2=127.0.0.1:${closed}/TCP`;
    const probe = await run(['agent', 'probe', '--plan', plan, '--termination-log', log]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /^netaudit-probe v1 3\n0:c\d* 1:c\d* 2:r\s*$/);
    assert.equal(readFileSync(log, 'utf8').trim(), probe.stdout.trim(), 'the termination message');
    server.child.kill('SIGTERM');
    const stopped = await server.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /"accepted":1/);
    assert.match(stopped.stdout, /"echoed":1/);
  });

  test('nothing was written into the image tree at runtime (readOnlyRootFilesystem)', () => {
    assert.deepEqual(files(root), before_);
    assert.equal(statSync(inRoot(root, '/app/bin/netaudit')).mode & 0o222, 0, 'the tree is read-only');
  });
});
