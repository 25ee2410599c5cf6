import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../../../test-support/paths';
import { version } from '../package.json';

/** The environment of a user's shell: without the npm_* variables `npm test` hands its children. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

describe('`npx qcal` in the clone', () => {
  it('runs the CLI and npm prints no warning (the .npmrc holds only configs npm knows)', () => {
    const r = spawnSync('npx', ['--no', '--', 'qcal', '--version'], { cwd: REPO_ROOT, env: userEnv(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version); // qcal's, not npm's own --version
  });
});
