import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import type { OnnxGraph, OnnxModel, OnnxTensor } from './model';

/**
 * ONNX external data: initializers whose bytes live in files beside the model (TensorProto
 * data_location = EXTERNAL, external_data { location, offset, length }). qcal never reads them all
 * into memory: onnxruntime maps them itself (sessions are created from the model bytes with the
 * data files from the model's folder), and qcal reads only the weights it quantizes, one tensor at a time.
 */

/** Where each external tensor's bytes are: absolute file, offset, length (checked at load). */
interface ExternalRef { readonly dir: string; readonly file: string; readonly location: string; readonly offset: number; readonly length: number }
const refs = new WeakMap<OnnxTensor, ExternalRef>();

const entry = (t: OnnxTensor, key: string): string | undefined => t.externalData?.find((e) => e.key === key)?.value;

/** Is the tensor's data stored externally? */
export function isExternal(t: OnnxTensor): boolean {
  return t.dataLocation === 1 || !!t.externalData?.length;
}

function* tensorsOf(g: OnnxGraph): Generator<OnnxTensor> {
  yield* g.initializer;
  for (const n of g.node) {
    for (const a of n.attribute ?? []) {
      if (a.t) yield a.t;
      if (a.g) yield* tensorsOf(a.g);
      for (const sg of a.graphs ?? []) yield* tensorsOf(sg);
    }
  }
}

/**
 * Checks and records the external data of a model loaded from `modelFile`: every location must be
 * a relative path that stays inside the model's folder (no absolute paths, no `..` out of it, no
 * symbolic link leading out), name an existing file, and hold offset + length bytes.
 */
export function resolveExternalData(model: OnnxModel, modelFile: string): number {
  const dir = fs.realpathSync(path.dirname(path.resolve(modelFile)));
  let count = 0;
  for (const t of tensorsOf(model.graph!)) {
    if (!isExternal(t)) continue;
    const where = `${modelFile}: tensor "${t.name ?? '?'}"`;
    const location = entry(t, 'location');
    if (!location) throw new ModelError(`${where}: external data without a location`);
    if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) throw new ModelError(`${where}: external data location "${location}" is an absolute path; ONNX requires a path relative to the model's folder (refused)`);
    const file = path.resolve(dir, location);
    let real: string;
    try { real = fs.realpathSync(file); } catch { throw new ModelError(`${where}: external data file "${location}" not found beside the model (${file})`); }
    if (real !== dir && !real.startsWith(dir + path.sep)) throw new ModelError(`${where}: external data location "${location}" leads outside the model's folder ${dir} (refused)`);
    const size = fs.statSync(real).size;
    const offset = Number(entry(t, 'offset') ?? 0);
    const length = entry(t, 'length') !== undefined ? Number(entry(t, 'length')) : size - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new ModelError(`${where}: external data offset ${offset} + length ${length} do not fit "${location}" (${size} bytes)`);
    }
    refs.set(t, { dir, file: real, location, offset, length });
    count++;
  }
  return count;
}

/** The bytes of an external tensor (read now, this tensor only). */
export function readExternal(t: OnnxTensor, where: string): Uint8Array {
  const r = refs.get(t);
  if (!r) throw new ModelError(`${where}: tensor data is stored externally but the model was not loaded from a file (load it with loadModel so its data files can be found)`);
  const out = Buffer.alloc(r.length);
  const fd = fs.openSync(r.file, 'r');
  try { fs.readSync(fd, out, 0, r.length, r.offset); } finally { fs.closeSync(fd); }
  return out;
}

/** The data files a model's external tensors read (location → absolute file). */
export function externalFiles(model: OnnxModel): Map<string, string> {
  const files = new Map<string, string>();
  for (const t of tensorsOf(model.graph!)) {
    const r = isExternal(t) ? refs.get(t) : undefined;
    if (r) files.set(r.location, r.file);
  }
  return files;
}

/**
 * The folder onnxruntime must resolve a model's external data against when the session is created
 * from bytes (session config `session.model_external_initializers_file_folder_path`; onnxruntime
 * maps the data itself and refuses locations escaping that folder). Undefined without external data.
 */
export function externalDataFolder(model: OnnxModel | undefined): string | undefined {
  if (!model) return undefined;
  const folders = new Set<string>();
  for (const t of tensorsOf(model.graph!)) { const r = isExternal(t) ? refs.get(t) : undefined; if (r) folders.add(r.dir); }
  if (folders.size > 1) throw new ModelError(`the model reads external data from several folders (${[...folders].join(', ')}); onnxruntime resolves them against one`);
  return [...folders][0];
}

/** Session options with the external data folder of `model` set (see {@link externalDataFolder}). */
export function withExternalData<T extends { extra?: Record<string, unknown> }>(options: T, model: OnnxModel | undefined): T {
  const folder = externalDataFolder(model);
  if (!folder) return options;
  const extra = (options.extra ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return { ...options, extra: { ...extra, session: { ...(extra.session ?? {}), model_external_initializers_file_folder_path: folder } } };
}

/**
 * Moves the data of large initializers (every graph) out of `model` into `dataFile` (written now):
 * external tensors are copied from their source files, tensors with more than `threshold` bytes of
 * raw_data are appended, each at a 4 KB-aligned offset. Returns the model referencing
 * `path.basename(dataFile)`, which must be written beside `dataFile`. Needed past protobuf's 2 GB.
 */
export function externalizeModel(model: OnnxModel, dataFile: string, threshold = 1024): OnnxModel {
  const location = path.basename(dataFile);
  const fd = fs.openSync(dataFile, 'w');
  let offset = 0;
  const replaced = new Map<OnnxTensor, OnnxTensor>();
  try {
    const move = (t: OnnxTensor): OnnxTensor => {
      const done = replaced.get(t);
      if (done) return done;
      const ext = isExternal(t);
      if (!ext && !(t.rawData && t.rawData.length > threshold)) return t;
      const bytes = ext ? readExternal(t, t.name ?? 'tensor') : t.rawData!;
      offset = Math.ceil(offset / 4096) * 4096;
      fs.writeSync(fd, bytes, 0, bytes.length, offset);
      const out: OnnxTensor = { ...t, rawData: null, dataLocation: 1, externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(bytes.length) }] };
      refs.set(out, { dir: path.dirname(path.resolve(dataFile)), file: path.resolve(dataFile), location, offset, length: bytes.length });
      offset += bytes.length;
      replaced.set(t, out);
      return out;
    };
    const graph = (g: OnnxGraph): OnnxGraph => ({
      ...g,
      initializer: g.initializer.map(move),
      node: g.node.map((n) => (n.attribute?.some((a) => a.g || a.graphs?.length)
        ? { ...n, attribute: n.attribute.map((a) => (a.g ? { ...a, g: graph(a.g) } : a.graphs?.length ? { ...a, graphs: a.graphs.map(graph) } : a)) }
        : n)),
    });
    return { ...model, graph: graph(model.graph!) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes of raw and external tensor data in a model (to decide whether it fits protobuf's 2 GB). */
export function tensorBytes(model: OnnxModel): number {
  let n = 0;
  for (const t of tensorsOf(model.graph!)) n += isExternal(t) ? refs.get(t)?.length ?? 0 : t.rawData?.length ?? 0;
  return n;
}
