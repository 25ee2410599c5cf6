import { loadConfig, loadInstalledCollectors } from '@qcal/core';
import { parseFlags } from '../args';
import { COLLECTORS_HELP } from '../help';
import { out, type CliIo } from '../io';

const FLAGS = { config: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

/** `qcal collectors`: installed collectors (built-ins and config plugins) with their options. */
export async function collectorsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags('collectors', argv, FLAGS);
  if (v.help) {
    out(io, COLLECTORS_HELP);
    return 0;
  }
  const cfg = await loadConfig({ configFile: v.config, cwd: io.cwd });
  const { registry } = loadInstalledCollectors({ configDir: cfg.configDir, cwd: cfg.cwd, plugins: cfg.plugins });
  const list = [...registry.values()].sort((a, b) => Number(b.builtin) - Number(a.builtin) || a.definition.name.localeCompare(b.definition.name));
  if (v.json) {
    out(io, JSON.stringify(list.map((r) => ({
      name: r.definition.name,
      source: r.source,
      builtin: r.builtin,
      description: r.definition.description ?? '',
      options: Object.fromEntries(Object.entries(r.definition.optionsSchema).map(([k, s]) => [k, { ...s, default: (r.definition.defaultOptions as Record<string, unknown>)[k] }])),
    })), null, 2));
    return 0;
  }
  for (const r of list) {
    const d = r.definition;
    out(io, `${d.name}${r.builtin ? '' : `  (plugin ${r.source})`}`);
    if (d.description) out(io, `  ${d.description}`);
    for (const [k, s] of Object.entries(d.optionsSchema)) {
      const def = (d.defaultOptions as Record<string, unknown>)[k];
      const kind = s.type === 'string' && s.enum ? s.enum.map((e) => JSON.stringify(e)).join('|') : s.type;
      out(io, `    ${k.padEnd(20)} ${kind.padEnd(22)} default ${JSON.stringify(def)}  ${s.description}`);
    }
    out(io);
  }
  out(io, `use in config: "collectors": ["minmax", ["entropy", { "quantizedDtype": "int8" }]]`);
  return 0;
}
