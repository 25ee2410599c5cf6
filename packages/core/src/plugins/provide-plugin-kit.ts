import Module from 'node:module';

const KIT = '@qcal/plugin-kit';

interface ModuleInternals {
  _resolveFilename(request: string, parent: unknown, isMain?: boolean, options?: unknown): string;
  _nodeModulePaths(dir: string): string[];
}

let provided = false;

/**
 * Makes `@qcal/plugin-kit` (and its subpaths) resolve, for every CommonJS module of this process,
 * to the copy this core uses. Plugins declare the kit as a peer dependency — the host supplies it —
 * but Node resolves a plugin's `require` from the plugin's real location: a plugin kept in its own
 * folder (with no node_modules, or linked with `npm link` / `npm install ../dir`) would fail with
 * "Cannot find module", and one with its own copy (its devDependency) would get a second instance
 * whose errors fail `instanceof QcalError`. Installed once, on the first plugin load.
 * ESM plugins resolve `import` themselves: keep those installed in the project.
 */
export function providePluginKit(): void {
  if (provided) return;
  provided = true;
  const M = Module as unknown as ModuleInternals;
  // A synthetic parent here, inside core: resolution then finds exactly what core's own imports find.
  const host = new Module(__filename);
  host.filename = __filename;
  host.paths = M._nodeModulePaths(__dirname);
  const original = M._resolveFilename;
  M._resolveFilename = function resolveFilename(this: unknown, request: string, parent: unknown, isMain?: boolean, options?: unknown): string {
    if (request === KIT || request.startsWith(`${KIT}/`)) {
      try {
        return original.call(this, request, host, false);
      } catch {
        // core cannot see a kit (unusual layout): let the plugin resolve it the normal way
      }
    }
    return original.call(this, request, parent, isMain, options);
  };
}
