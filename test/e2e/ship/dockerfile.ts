// A small Dockerfile reader and interpreter, so a test can prove the image's steps produce a working
// netaudit on a machine without a container engine. It covers what netaudit's Dockerfile uses (FROM,
// ARG, WORKDIR, COPY [--from], RUN, ENV, LABEL, USER, ENTRYPOINT, CMD); anything else is kept as an
// opaque instruction so a new keyword is visible to the test rather than silently dropped.
// No parser library is among the project's dependencies, and adding one for a test is not worth it.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, relative } from 'node:path';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export type Step =
  | { readonly kind: 'WORKDIR'; readonly path: string; readonly line: number }
  | { readonly kind: 'ENV'; readonly vars: Readonly<Record<string, string>>; readonly line: number }
  | { readonly kind: 'USER'; readonly user: string; readonly line: number }
  | {
      readonly kind: 'COPY';
      readonly from: string | undefined;
      readonly sources: readonly string[];
      readonly dest: string;
      readonly line: number;
    }
  | { readonly kind: 'RUN'; readonly command: string | readonly string[]; readonly line: number };

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  readonly base: string;
  readonly steps: Step[];
  readonly labels: Record<string, string>;
  readonly env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  entrypoint: string | readonly string[] | undefined;
  cmd: string | readonly string[] | undefined;
  readonly other: Instruction[];
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
}

/** Logical instructions: continuation lines joined, comments and blank lines dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const trimmed = raw.trim();
    // Comment lines may sit inside a continued instruction (as Docker allows); they end nothing.
    if (trimmed.startsWith('#') || (trimmed === '' && buffer === '')) continue;
    if (buffer === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buffer += `${trimmed.slice(0, -1)} `;
      continue;
    }
    buffer += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buffer.trim());
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buffer = '';
  }
  if (buffer.trim() !== '') throw new Error(`Dockerfile: line ${start} ends with a continuation`);
  return out;
}

/**
 * `$VAR`, `${VAR}` and `${VAR:-default}` from the variables in scope; unknown ones become '', or stay
 * as written with `keepUnknown`.
 */
export function substitute(
  value: string,
  vars: Readonly<Record<string, string | undefined>>,
  keepUnknown = false,
): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole: string, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const v = vars[name];
      if (v === undefined && keepUnknown) return whole;
      return v !== undefined && v !== '' ? v : (fallback ?? '');
    },
  );
}

/** Words split on blanks, honouring double and single quotes (as Docker does for ENV and LABEL). */
export function words(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let quote: string | undefined;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(word);
      word = '';
      has = false;
    } else {
      word += c === '\\' && i + 1 < text.length ? text[++i] : c;
      has = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${text}`);
  if (has) out.push(word);
  return out;
}

function keyValues(
  args: string,
  vars: Readonly<Record<string, string>>,
  line: number,
  keepUnknown = false,
): Record<string, string> {
  const ws = words(args);
  // The legacy one-pair form `ENV KEY value with spaces`.
  if (ws.length > 0 && !ws[0]?.includes('=')) {
    const [key, ...rest] = args.split(/\s+/);
    return { [key as string]: substitute(rest.join(' '), vars, keepUnknown) };
  }
  const out: Record<string, string> = {};
  for (const w of ws) {
    const at = w.indexOf('=');
    if (at <= 0) throw new Error(`Dockerfile line ${line}: expected KEY=VALUE, got ${w}`);
    out[w.slice(0, at)] = substitute(w.slice(at + 1), vars, keepUnknown);
  }
  return out;
}

/** Exec form (a JSON array of strings) or shell form (a string). */
function execOrShell(args: string, line: number): string | readonly string[] {
  if (!args.startsWith('[')) return args;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new Error(`Dockerfile line ${line}: exec form must be a JSON array of strings`);
  }
  return parsed as string[];
}

export function parseDockerfile(text: string): Dockerfile {
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  let stage: Stage | undefined;
  let scope: Record<string, string> = {};
  for (const ins of instructions(text)) {
    const { keyword, line } = ins;
    if (keyword === 'ARG') {
      const [name, value] = ins.args.split('=', 2) as [string, string | undefined];
      const v = substitute(value ?? '', stage ? scope : globalArgs);
      if (stage) scope[name] = v || (globalArgs[name] ?? '');
      else globalArgs[name] = v;
      continue;
    }
    if (keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m?.[1]) throw new Error(`Dockerfile line ${line}: cannot read FROM ${ins.args}`);
      const base = substitute(m[1], globalArgs);
      // A stage built on an earlier stage inherits its settings, as the image would.
      const parent = stages.find((s) => s.name === base);
      stage = {
        index: stages.length,
        name: m[2],
        base,
        steps: [],
        labels: { ...parent?.labels },
        env: { ...parent?.env },
        workdir: parent?.workdir ?? '/',
        user: parent?.user,
        entrypoint: parent?.entrypoint,
        cmd: parent?.cmd,
        other: [],
      };
      stages.push(stage);
      scope = {};
      continue;
    }
    if (!stage) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    const vars = { ...scope, ...stage.env };
    switch (keyword) {
      case 'WORKDIR': {
        const path = posix.resolve(stage.workdir, substitute(ins.args, vars));
        stage.workdir = path;
        stage.steps.push({ kind: 'WORKDIR', path, line });
        break;
      }
      case 'ENV': {
        // References to the base image's variables (PATH) stay as written: only the executor knows
        // what stands in for the base image.
        const vars2 = keyValues(ins.args, vars, line, true);
        Object.assign(stage.env, vars2);
        stage.steps.push({ kind: 'ENV', vars: vars2, line });
        break;
      }
      case 'LABEL':
        Object.assign(stage.labels, keyValues(ins.args, vars, line));
        break;
      case 'USER':
        stage.user = substitute(ins.args, vars);
        stage.steps.push({ kind: 'USER', user: stage.user, line });
        break;
      case 'COPY':
      case 'ADD': {
        const parts = ins.args.startsWith('[')
          ? (execOrShell(ins.args, line) as string[])
          : ins.args.split(/\s+/).filter((p) => p !== '');
        let from: string | undefined;
        const rest: string[] = [];
        for (const p of parts) {
          if (p.startsWith('--from=')) from = p.slice('--from='.length);
          else if (p.startsWith('--'))
            continue; // --chown, --chmod, --link: ownership is not modelled
          else rest.push(substitute(p, vars));
        }
        if (keyword === 'ADD' && rest.some((s) => /^https?:/.test(s))) {
          throw new Error(`Dockerfile line ${line}: ADD of a URL cannot be interpreted offline`);
        }
        const dest = rest.pop();
        if (!dest || rest.length === 0) throw new Error(`Dockerfile line ${line}: COPY needs SRC... DEST`);
        stage.steps.push({ kind: 'COPY', from, sources: rest, dest, line });
        break;
      }
      case 'RUN':
        if (/^--/.test(ins.args)) throw new Error(`Dockerfile line ${line}: RUN flags are not interpreted`);
        stage.steps.push({ kind: 'RUN', command: execOrShell(ins.args, line), line });
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execOrShell(ins.args, line);
        break;
      case 'CMD':
        stage.cmd = execOrShell(ins.args, line);
        break;
      default:
        stage.other.push(ins);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return { stages };
}

/** .dockerignore patterns as matchers over context-relative paths (`**`, `*`, `?`, `!` exceptions). */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      const re = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      // A pattern matching a directory excludes everything under it.
      return { negate, re: new RegExp(`^${re}(/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

export interface RunResult {
  readonly stage: Stage;
  readonly root: string;
}

export interface ExecuteOptions {
  /** The build context (the repository). */
  readonly context: string;
  /** A scratch directory; each stage's filesystem is `<scratch>/stage-<index>`. */
  readonly scratch: string;
  /** The environment RUN steps start from (the host's, with the tools the base image would have). */
  readonly env: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

/** A path inside a stage's filesystem, as a host path under the stage root. */
export function inRoot(root: string, path: string): string {
  return join(root, posix.normalize(path));
}

/**
 * A variable holding one absolute path into the stage's filesystem (its parent exists there, the
 * path itself may be made by a later step), as a host path; any other value as it is. Never the
 * host's own path: a RUN step must not write outside the scratch directory.
 */
function inStage(root: string, value: string): string {
  if (!isAbsolute(value) || value.includes(':') || value === '/') return value;
  return existsSync(inRoot(root, posix.dirname(value))) ? inRoot(root, value) : value;
}

/**
 * The stage's environment as a host process sees it: the Dockerfile's variables with references to
 * the base image's variables taken from `base`, and PATH entries that exist in the stage's
 * filesystem mapped into it.
 */
export function stageEnv(stage: Stage, root: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const step of stage.steps) {
    if (step.kind !== 'ENV') continue;
    for (const [k, v] of Object.entries(step.vars)) {
      const value = substitute(v, env);
      env[k] =
        k === 'PATH'
          ? value
              .split(':')
              .map((p) => (isAbsolute(p) && existsSync(inRoot(root, p)) ? inRoot(root, p) : p))
              .join(':')
          : inStage(root, value);
    }
  }
  return env;
}

function copyInto(src: string, dest: string, destIsDir: boolean, keep: (host: string) => boolean): void {
  if (statSync(src).isDirectory()) {
    // COPY of a directory copies its contents, not the directory itself.
    mkdirSync(dest, { recursive: true });
    for (const entry of readdirSync(src)) {
      cpSync(join(src, entry), join(dest, entry), {
        recursive: true,
        preserveTimestamps: true,
        filter: keep,
      });
    }
    return;
  }
  const target = destIsDir ? join(dest, basename(src)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(src, target, { preserveTimestamps: true });
}

/** Executes every stage's COPY and RUN steps in the scratch directory; the last stage's result. */
export function execute(df: Dockerfile, options: ExecuteOptions): RunResult {
  const { context, scratch, env: hostEnv } = options;
  const log = options.log ?? (() => {});
  const ignorePath = join(context, '.dockerignore');
  const ignored = existsSync(ignorePath) ? dockerignore(readFileSync(ignorePath, 'utf8')) : () => false;
  const roots: string[] = [];
  for (const stage of df.stages) {
    const root = join(scratch, `stage-${stage.index}`);
    mkdirSync(root, { recursive: true });
    roots.push(root);
    let workdir = '/';
    // A stage built on an earlier stage starts as that stage's user.
    let user = df.stages.find((s) => s.name === stage.base)?.user;
    const done: Step[] = [];
    for (const step of stage.steps) {
      done.push(step);
      switch (step.kind) {
        case 'WORKDIR':
          workdir = step.path;
          mkdirSync(inRoot(root, workdir), { recursive: true });
          break;
        case 'ENV':
          break;
        case 'USER':
          user = step.user;
          break;
        case 'COPY': {
          let fromRoot: string | undefined;
          if (step.from !== undefined) {
            const source = df.stages.find((s) => s.name === step.from || String(s.index) === step.from);
            if (!source || source.index >= stage.index) {
              throw new Error(`Dockerfile line ${step.line}: COPY --from=${step.from}: no earlier stage`);
            }
            fromRoot = roots[source.index];
          }
          const dest = posix.resolve(workdir, step.dest);
          const destIsDir = step.dest.endsWith('/') || step.sources.length > 1;
          for (const s of step.sources) {
            let src: string;
            let keep: (host: string) => boolean = () => true;
            if (fromRoot !== undefined) {
              src = inRoot(fromRoot, posix.resolve('/', s));
            } else {
              const rel = posix.normalize(s).replace(/^\/+/, '');
              if (rel.startsWith('..'))
                throw new Error(`Dockerfile line ${step.line}: ${s} is outside the context`);
              if (ignored(rel)) {
                throw new Error(`Dockerfile line ${step.line}: ${s} is excluded by .dockerignore`);
              }
              src = join(context, rel);
              keep = (host) => !ignored(relative(context, host).split('\\').join('/'));
            }
            if (!existsSync(src)) throw new Error(`Dockerfile line ${step.line}: COPY source ${s} not found`);
            copyInto(src, inRoot(root, dest), destIsDir, keep);
          }
          log(`stage ${stage.name ?? stage.index}: COPY ${step.sources.join(' ')} ${step.dest}`);
          break;
        }
        case 'RUN': {
          const cwd = inRoot(root, workdir);
          mkdirSync(cwd, { recursive: true });
          log(`stage ${stage.name ?? stage.index}: RUN ${String(step.command)}`);
          // The variables as they stand at this step (an ENV's path may exist only now).
          const env = stageEnv({ ...stage, steps: done.filter((s) => s.kind === 'ENV') }, root, hostEnv);
          const options = { cwd, env, encoding: 'utf8' as const, ...runAs(user) };
          const r =
            typeof step.command === 'string'
              ? spawnSync('sh', ['-c', step.command], options)
              : spawnSync(step.command[0] ?? '', step.command.slice(1), options);
          if (r.status !== 0) {
            throw new Error(
              `Dockerfile line ${step.line}: RUN ${String(step.command)} exited ${r.status ?? r.signal}\n` +
                `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}`,
            );
          }
          break;
        }
      }
    }
  }
  const last = df.stages.at(-1) as Stage;
  return { stage: last, root: roots[last.index] as string };
}

/** A RUN step after USER runs as that user, as Docker runs it; only root can switch. */
function runAs(user: string | undefined): { uid?: number; gid?: number } {
  if (user === undefined || process.getuid?.() !== 0) return {};
  const [uid, gid] = user.split(':').map(Number);
  if (uid === undefined || !Number.isInteger(uid))
    throw new Error(`USER ${user}: only numeric users are interpreted`);
  return { uid, gid: gid !== undefined && Number.isInteger(gid) ? gid : uid };
}

/** Makes a tree read-only, as `readOnlyRootFilesystem: true` makes the image. */
export function makeReadOnly(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) for (const entry of readdirSync(path)) makeReadOnly(join(path, entry));
  chmodSync(path, st.mode & 0o555);
}
