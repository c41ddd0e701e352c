import { runCli } from './run-cli.js';

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // First signal: stop between steps and tiles, write nothing partial, report. Second: leave at once.
    if (++interrupts > 1) process.exit(130);
    process.stderr.write(`\n${signal}: stopping: no partial output is written (again to quit at once)\n`);
    controller.abort(signal);
  });
}

runCli(process.argv.slice(2), undefined, { signal: controller.signal }).then(
  (code) => {
    process.exitCode = controller.signal.aborted ? 130 : code;
  },
  (error: unknown) => {
    process.stderr.write(`diffusekit: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
