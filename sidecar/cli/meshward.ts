#!/usr/bin/env node
// meshward command line (DESIGN §2): dispatches to one module per command, loaded only when
// that command runs (`run` need not carry certs' @peculiar/x509 or inject's Kubernetes models).

const USAGE = `usage: meshward <command> [options]

commands:
  run --config FILE        run the sidecar
  policy lint PATH...      validate policy files (file:line:col for each problem)
  policy test PATH...      run policy test cases (kind: PolicyTest)
  policy explain --config FILE --method M [--principal ID] [--jwt TOKEN | --claims JSON]
  policy explain --config FILE --graphql QUERY [--method /path] [--principal ID] [--jwt TOKEN | --claims JSON]
                           print the decision for a call and why
  policy suggest --admin URL...
                           least-privilege policy (mode: audit) from observed traffic
  catalog --admin URL...   declared vs observed APIs of many sidecars: shadow, zombie, deprecated in use
  certs init|issue ...     development CA and SPIFFE workload certificates
  inject [-f FILE]         print Kubernetes manifests with the sidecar injected
  injector --config FILE   run the mutating admission webhook that injects the sidecar
  tap --admin URL [--method M] [--principal P] [--decision D] [--json]
                           print a sidecar's calls as they end
  top --admin URL [--once] a live table of a sidecar's calls per method
  audit verify FILE...     check the audit log's hash chain (first broken record as FILE:LINE)
  report --admin URL...    compliance report (HTML, JSON or Markdown) of running sidecars
  version                  versions of meshward, Node.js and the dependencies (also --version)

every command answers --help
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  run: async (argv) => (await import('./run.js')).runRunCommand(argv),
  certs: async (argv) => (await import('./certs.js')).runCertsCommand(argv),
  policy: async (argv) => (await import('./policy.js')).runPolicyCommand(argv),
  catalog: async (argv) => (await import('./catalog.js')).runCatalogCommand(argv),
  inject: async (argv) => (await import('./inject.js')).runInjectCommand(argv),
  injector: async (argv) => (await import('./injector.js')).runInjectorCommand(argv),
  tap: async (argv) => (await import('./tap.js')).runTapCommand(argv),
  top: async (argv) => (await import('./top.js')).runTopCommand(argv),
  audit: async (argv) => (await import('./audit.js')).runAuditCommand(argv),
  report: async (argv) => (await import('./report.js')).runReportCommand(argv),
  version: async (argv) => (await import('./version.js')).runVersionCommand(argv),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') return commands['version']!(rest);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`meshward: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  return command(rest);
}

// A reader that went away (`meshward policy explain ... | head -1`) is not an error: stop quietly.
for (const out of [process.stdout, process.stderr]) {
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

process.on('uncaughtException', (err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'uncaught exception', error: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Servers are closed by now; do not wait for stray timers or sockets.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`meshward: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
