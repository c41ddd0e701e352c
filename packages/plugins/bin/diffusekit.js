#!/usr/bin/env node
// Committed entry point, so that npm links the command at install time, before the TypeScript is built.
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('diffusekit: not built yet; run "npm run build" in the repository first\n');
    process.exit(70);
  }
  throw error;
});
