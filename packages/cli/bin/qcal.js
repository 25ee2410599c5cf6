#!/usr/bin/env node
// Shim so that npm links `qcal` at install time, before the TypeScript build exists.
'use strict';
try {
  require.resolve('../dist/bin.js');
} catch {
  process.stderr.write('qcal: the CLI is not built yet; run `npx tsc -b` (or `npm run build`) at the repository root first\n');
  process.exit(2);
}
require('../dist/bin.js');
