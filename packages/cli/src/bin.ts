#!/usr/bin/env node
import { pendingWork } from '@qcal/core';
import { main } from './main';

// `qcal inspect m.onnx | head`: a closed pipe is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; });

let settled = false;
// Node ends a process whose event loop is empty even while a promise is pending: a config or a
// plugin hook whose promise never settles would end qcal with exit 0 and no output. Say what hung.
process.on('beforeExit', () => {
  if (settled) return;
  const work = pendingWork();
  process.stderr.write(`qcal: error: [${work?.code ?? 'QCAL_PLUGIN'}] ${work ? work.what : 'a promise'} never settled (nothing left that could resolve or reject it); no output was written\n`);
  process.exit(work?.exitCode ?? 1);
});

main(process.argv.slice(2)).then(
  (code) => { settled = true; process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`qcal: internal error: ${String((err as Error)?.stack ?? err)}\n`); process.exitCode = 1; },
);
