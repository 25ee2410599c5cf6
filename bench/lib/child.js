'use strict';
/** Child process entry: one measurement (spec as JSON in argv[2]); the result as one JSON line on stdout. */
const { measure } = require('./measure');

measure(JSON.parse(process.argv[2]))
  .then((r) => { process.stdout.write(`${JSON.stringify({ ok: true, result: r })}\n`); })
  .catch((err) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.message || err).split('\n')[0] })}\n`);
    process.exitCode = 1;
  });
