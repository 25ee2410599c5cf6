import * as path from 'node:path';
import Module from 'node:module';
import { ConfigError } from '../errors';

/**
 * Loads `qcal.config.ts`. cosmiconfig 9 has a TypeScript loader, but it emits ES modules into a
 * temporary `.mjs` beside the config and `import()`s it, which fails where dynamic import is not
 * available (jest's VM) and leaves files behind if the process dies. This one transpiles with the
 * `typescript` package's `transpileModule` (types are not checked) to CommonJS and compiles it in
 * memory as a module located at the config's path, so its relative imports and packages resolve as
 * the file's own would. `typescript` is looked up from the config's folder, then from qcal; without
 * it, a ConfigError says to install it or use a .js/.json config.
 */
export function loadTsConfig(filepath: string, content: string): unknown {
  const dir = path.dirname(filepath);
  let ts: typeof import('typescript');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ts = require(require.resolve('typescript', { paths: [dir, __dirname] })) as typeof import('typescript');
  } catch {
    throw new ConfigError(`${filepath}: a TypeScript config needs the "typescript" package; install it with \`npm install -D typescript\` in ${dir}, or write the config as qcal.config.js or .json`);
  }
  const { outputText } = ts.transpileModule(content, {
    fileName: filepath,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  type CompilableModule = Module & { _compile(code: string, filename: string): void; filename: string; paths: string[] };
  const ModuleCtor = Module as unknown as { new (id: string, parent?: unknown): CompilableModule; _nodeModulePaths(dir: string): string[] };
  const m = new ModuleCtor(filepath);
  m.filename = filepath;
  m.paths = ModuleCtor._nodeModulePaths(dir);
  m._compile(outputText, filepath);
  const exported = m.exports as { __esModule?: boolean; default?: unknown };
  return exported && exported.__esModule && 'default' in exported ? exported.default : exported;
}
