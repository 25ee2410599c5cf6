/** Help texts: what each command does, its flags, and an example a new user can run. */
export const MAIN_HELP = `qcal — calibrate FP32 ONNX models for INT8 post-training quantization

Usage: qcal <command> [options]

Commands:
  calibrate     run the model over calibration data and write a range table per collector
  inspect       list the calibratable tensors of a model (names, producer op, shape)
  collectors    list installed collectors and their options
  quantize      write a QDQ INT8 ONNX model from a model and a table
  evaluate      compare an INT8 (QDQ) model with its FP32 model on data
  sensitivity   per-layer harm of quantization, worst first
  merge         merge sharded calibration runs into the tables of a single run
  convert       convert a table between qcal JSON, TensorRT, tpu-mlir and onnxruntime formats
  report        rebuild <out>/report.html (the calibration report page) from an output directory

Run 'qcal <command> --help' for the options of a command.
Exit codes: 0 done; 1 calibration failed; 2 bad usage, config or input.

Example:
  qcal calibrate --model model.onnx --data calib/ --collector minmax --collector entropy --out calib-out
`;

export const CALIBRATE_HELP = `Usage: qcal calibrate [options]

Runs the model once per batch over the calibration data; every collector sees every selected
activation of that one pass, then writes <out>/<collector>.table.json, <out>/run.json (the run and
a histogram per tensor, kept from the same pass) and <out>/report.html (open it in a browser).
Settings come from a config file (qcal.config.{json,yaml,js,cjs,mjs,ts}, .qcalrc*, package.json
"qcal"), found from the working directory or given with --config; flags override it.

Options:
  --config FILE          config file to use instead of searching
  --model M.onnx         the FP32 ONNX model
  --data DIR|LIST        a directory (.npy, .npz, images) or a list file (one sample per line,
                         comma-separated for several inputs, paths relative to the list)
  --preprocess NAME      image preprocessing preset (imagenet, paddleocr-det, paddleocr-rec)
  --collector NAME       a collector (repeatable): minmax, entropy, ifmr, hfmg, percentile, mse,
                         autotune, auto, or a plugin's name; default ifmr with --qdq, --evaluate
                         or --target-cos (measured best), else minmax. Options go in the config file.
                         auto: ifmr, hfmg and percentile calibrate in the same pass, then each
                         group of tensors (by op type, then 6 runs of the graph order) takes
                         the ranges that harm the QDQ model's output least on the first 16
                         calibration samples (real QDQ builds; a switch must help on both
                         halves of them) -> auto.table.json (entries name their collector,
                         meta.rangeChoice says what won where). Config: ["auto", {"collectors":
                         [...], "blocks": N}].
  --num-samples N        use the first N samples
  --batch-size B         samples per inference (default 1)
  --shuffle, --seed S    shuffle the samples (deterministically) before taking N
                         By default only the tensors a QDQ model quantizes are calibrated
                         (inputs/outputs of ops with integer kernels, as --qdq writes them):
                         the same QDQ model as with every tensor, for less work.
  --all-tensors          calibrate every float activation (e.g. for --format tables of other tools)
  --include PAT          calibrate only matching tensors (repeatable; selects from every tensor)
  --exclude PAT          leave matching tensors out (repeatable)
                         PAT: exact name, glob (*conv*), /regex/, or op:Conv (producer op type)
  --out DIR              output directory (default calib-out); checked before the first inference.
                         A run's files appear together (staged beside DIR, then swapped in) with
                         DIR/qcal-manifest.json; files <collector>.* of an earlier run are replaced
  --format F             also write F: tensorrt, tpu-mlir, ort (repeatable; json is always written)
  --qdq                  also write <out>/<collector>.qdq.onnx (INT8 QDQ model)
  --quantize-mode M      smart (default: Q/DQ where onnxruntime has integer kernels) or full
  --evaluate             compare INT8 with FP32 (implies --qdq) and print a summary per collector
  --eval-data DIR|LIST   held-out data for --evaluate and --target-cos (default: the calibration data)
  --eval-samples N       how many evaluation samples to use
  --target-cos C         keep the most harmful tensors in FP32 until the held-out output cosine >= C
                         (implies --qdq; the table records them in meta.floatFallback)
  --target-metric M      the fallback search's metric (higher is better): cosine (default), sqnr (dB),
                         ctc-char-accuracy (greedy CTC decoding of INT8 vs FP32 outputs, e.g. an OCR
                         recognizer), or a module exporting metric(fp32Outputs, int8Outputs)
  --target X             with --target-metric: the value to reach on held-out samples (--target-cos C
                         is --target-metric cosine --target C); reports the tensors kept in FP32, the
                         fidelity reached and the search's cost in <collector>.fallback.json
  --max-float-layers K   with --target-cos / --target: keep at most K tensors in FP32
  --fallback-int16       with --target-cos / --target: try the tensors kept out of INT8 as 16-bit
                         activations (8-bit weights) before FP32 (table meta.int16); on onnxruntime's
                         CPU provider 16-bit Q/DQ is slower than FP32 — for 16-bit capable targets
  --bias-correction      QDQ pass: measure each layer's per-channel output shift (INT8 vs FP32) on 8
                         calibration samples and fold it into the bias (layer by layer; recorded in
                         the model metadata qcal.passes)
  --cross-layer-equalization
                         QDQ pass: rescale consecutive Conv/Gemm/MatMul channel pairs (through Relu,
                         PRelu, LeakyRelu or nothing) so their weight ranges match (Nagel et al. 2019)
  --smooth-quant         QDQ pass: move activation outliers of MatMul/Gemm inputs into the weights,
                         s = max|X|^a / max|W|^(1-a), folded into the LayerNorm before (Xiao et al. 2022)
  --smooth-quant-alpha A with --smooth-quant: the migration strength a in [0, 1] (default 0.5)
  --isotone              QDQ pass: choose the range of an output Softmax's (or ArgMax's) input so the
                         top-1 stays above the top-2 on the calibration samples (PPQ's isotone)
  --no-fold-affine       QDQ pass off: constant Mul/Add after a Conv stay separate quantized ops
                         (default: folded into the Conv's weights and bias, exact)
  --no-saturation-ranges QDQ pass off: keep ranges as calibrated (default: a range is narrowed to
                         what its consumers can see — Relu, Clip, HardSigmoid, HardSwish saturate —
                         and what its producer can output; recorded in qcal.passes)
  --no-fuse-activations  QDQ pass off: quantize each step of a HardSwish written as Add/Clip/Mul/Div
                         (default: one activation — Q/DQ on its input and output only, replaced by
                         one HardSwish node; its inner tensors are not calibrated)
  --shard I/N            process the I-th of N slices and write snapshots (see qcal merge)
  --force                recompute even when a matching table exists
  --hook-timeout S       seconds one asynchronous collector hook may take (default 1800; 0 = none)
  --no-report            do not write <out>/report.html (nor keep the histograms it shows)
  --histogram-stride N   the report's histograms look at every N-th value (1: all; default 0:
                         automatic, about 16384 values per tensor and batch)
  --fast                 fast mode (the default): histogram collectors (entropy, hfmg, ifmr,
                         percentile, mse) see about 16384 values per tensor and batch (every k-th
                         block of 16 values, cut out in-graph) plus each tensor's exact min and
                         max; recorded in the tables (meta.fastMode). Measured within the noise
                         of every value on held-out PP-OCRv4 data, 2-4x faster
  --exact                every value (the reference algorithms exactly; = --fast-sample 0)
  --fast-sample N        fast mode with about N values per tensor and batch (0: every value)
  --quiet                no progress or summary output
  -h, --help             this help

Example:
  qcal calibrate --model rec.onnx --data lines/list.txt --collector entropy --format tensorrt
`;

export const INSPECT_HELP = `Usage: qcal inspect M.onnx [--include PAT]... [--exclude PAT]... [--all] [--json]

Lists the tensors qcal can calibrate (float32 activations and graph inputs) with their producer
node, op type and static shape, so you can write include/exclude patterns. With patterns, shows
which tensors they select.
`;

export const COLLECTORS_HELP = `Usage: qcal collectors [--config FILE] [--json]

Lists the installed collectors (built-ins and the plugins named in the config) with their options
and defaults.
`;
