#!/usr/bin/env node
import { main } from './main';

// `qcal inspect m.onnx | head`: a closed pipe is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; });

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`qcal: internal error: ${String((err as Error)?.stack ?? err)}\n`); process.exitCode = 1; },
);
