// The layers of src/ and the directions imports may take between them (docs/architecture.md,
// "Layers and the dependency rule"). `npm run depcheck` cruises src/ with these rules; CI runs it
// after the lint step and fails on any violation.
//
//   core      src/core, src/policy, src/expect, src/errors.ts  pure: no I/O, no npm package
//   adapters  src/kube, src/model, src/probe                   the API server, manifests, the probe wire and sockets
//   app       src/audit, src/controller, src/cli, src/report   rounds, the controller, commands, renderers
//
// Imports go down only: app -> adapters -> core. Within app, src/cli is imported by nothing, and the
// renderers (src/report) and the round (src/audit) never import src/controller; src/audit never
// imports a renderer.
const CORE = '^src/(core/|policy/|expect/|errors[.]ts$)';
const ADAPTERS = '^src/(kube|model|probe)/';
const APP = '^src/(audit|controller|cli|report)/';

/** Node built-ins that do I/O or touch the process: none of them belongs in core. */
const IO_BUILTINS =
  '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|dns/promises|tls|child_process|cluster|worker_threads|readline|os|process|inspector|v8|vm|timers|timers/promises|stream|stream/promises)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-core-only',
      comment:
        'core (policy semantics, the expectation engine, the shared vocabulary) imports only core: the adapters and the app build on it, never the other way round',
      severity: 'error',
      from: { path: CORE },
      to: { path: '^src/', pathNot: CORE },
    },
    {
      name: 'core-no-io',
      comment: 'core does no I/O: no Node built-in that reads, writes, connects or spawns',
      severity: 'error',
      from: { path: CORE },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'core-no-npm',
      comment: 'core is a library of its own: no npm package (add one here on purpose, with its reason)',
      severity: 'error',
      from: { path: CORE },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg'] },
    },
    {
      name: 'adapters-not-to-app',
      comment:
        'adapters (Kubernetes API, manifest reading, probe wire format and sockets) serve the app: what they share with it is core vocabulary, not an import of the app',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: APP },
    },
    {
      name: 'cli-is-the-top',
      comment: 'the commands are the entry points: nothing else imports src/cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'controller-only-from-cli',
      comment: 'the round (src/audit) and the renderers (src/report) run without the controller',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|controller)/' },
      to: { path: '^src/controller/' },
    },
    {
      name: 'audit-not-to-renderers',
      comment: 'a round decides and returns data; rendering it (src/report) is the caller\'s business',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: '^src/report/' },
    },
    {
      name: 'src-not-to-tests-or-lab',
      comment: 'no test, bench or lab code is compiled into the product',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|lab|bench)/' },
    },
    {
      name: 'src-not-to-dev-deps',
      comment: 'the product ships with its dependencies only: a devDependency is not installed where it runs',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing would make the rules above see nothing',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Only src/ is cruised (the command line names it); test/, lab/ and bench/ may import any layer.
    // No includeOnly: it would drop Node built-ins and packages from the graph, and with them the
    // core-no-io, core-no-npm and src-not-to-dev-deps rules.
    doNotFollow: { path: 'node_modules' },
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with; swc parses TypeScript
    // as written, so type-only imports count too (a type from another layer is a dependency on it
    // all the same).
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
