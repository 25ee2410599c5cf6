/** @qcal/core public API: the engine, plus everything of @qcal/plugin-kit re-exported. Collector plugins import @qcal/plugin-kit instead. */
export type { ActivationTensor, TensorRange, TensorElementType, FeedTensor } from './tensor';
export type {
  TensorInfo,
  CollectorContext,
  PostCollectContext,
  TuningContext,
  TuningRequest,
  CalibrationCollector,
  CollectorDefinition,
  CollectorNeeds,
  CollectorState,
} from './collector';
export { COLLECTOR_API_VERSION, defineCollector } from './collector';
export type { OptionSpec, OptionsSchema } from './options-schema';
export { validateOptions, closest, editDistance } from './options-schema';
export type { Logger } from './logger';
export { silentLogger, streamLogger } from './logger';
export {
  QcalError,
  UsageError,
  ConfigError,
  ModelError,
  DataError,
  PluginError,
  TableError,
  CalibrationError,
  exitCodeFor,
  messageOf,
} from './errors';
export type { QcalErrorCode } from './errors';
export type { CalibrationTable, TableEntry, TableMeta } from './table';
export { validateTable } from './table';
export { writeFileAtomic, writeFilesAtomic } from './atomic-write';
export * from './output-set';
export { DEFAULT_LIMITS, HARD_LIMITS, resolveLimits } from './limits';
export type { Limits } from './limits';
export { pendingWork, tracked, withTimeout } from './pending-work';
export type { PendingWork } from './pending-work';
export type { EncodedArray } from './array-codec';
export { encodeArray, decodeArray, decodeFloat64 } from './array-codec';
export { compilePatterns, selectTensors, explainSelection } from './select';
export type { CompiledPattern, TensorFilter, SelectionExplanation } from './select';
export {
  BUILTIN_COLLECTORS,
  loadPluginModule,
  loadCollectors,
  loadInstalledCollectors,
  wrapCollector,
  instantiateCollector,
  checkPluginRanges,
  isFloat32Finite,
  FLOAT32_MAX,
  DEFAULT_HOOK_TIMEOUT_MS,
  createContainer,
} from './plugins';
export type {
  PluginModule,
  PluginSearch,
  CollectorRef,
  CollectorRegistry,
  RegisteredCollector,
  ResolvedCollector,
  LoadCollectorsOptions,
  LoadedCollectors,
  ContainerInit,
} from './plugins';
export { LOGGER, CONFIG, COLLECTOR_DEFINITIONS, COLLECTOR_DEFINITION, COLLECTORS, resolveToken } from './tokens';
export type { Token } from './tokens';
export * from './data';
export { loadConfig, CONFIG_DEFAULTS, CONFIG_SEARCH_PLACES, DEFAULT_QDQ_COLLECTORS, OUTPUT_FORMATS, inputOptions } from './config';
export type { LoadConfigOptions, ResolvedConfig, OutputFormat, ShardSpec } from './config';
export * from './formats';
export * from './calibrate';
export { loadModel, decodeModel, encodeModel, opsetVersion, toNumber, tensorToFloat32, DataType, AttributeType, makeFloatTensor, makeIntTensor } from './onnx/model';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo, OnnxAttribute } from './onnx/model';
export { indexGraph, elementTypeName, valueInfoDims } from './onnx/graph-index';
export type { GraphIndex, IndexedTensor, SubgraphInfo } from './onnx/graph-index';
export { instrumentModel } from './onnx/instrument';
export { DEFAULT_SAMPLE_VALUES, sampleStep, samplePlan, strided, sampleable } from './calibrate/sampling';
export type { InstrumentationPlan, InstrumentedModel, SampledOutputs } from './onnx/instrument';
export { createSession, toOrtFeeds, runBatch } from './runner/session';
export type { SessionSettings } from './runner/session';
export { sha256, stableStringify } from './fingerprint';
export { buildQdqModel, checkTableForModel, quantizeFile, activationParams, quantizeWeights, foldBatchNorms, INTEGER_OPS, DEQUANTIZED_METADATA_KEY, buildQdqModelWithPasses, PASSES_METADATA_KEY, measureBiasCorrection, applyBiasCorrection, findBiasSites, prepareQdqWork, quantizedTensorNames, smoothQuant, applySmoothQuant, findSmoothSites, smoothingFactors, crossLayerEqualization, applyCrossLayerEqualization, findClePairs, equalizationFactors, channelAbsMax, SCALE_EQUIVARIANT, measureChannelRanges, rescaledRange, isotoneRanges, isotoneRange, findIsotoneTensors, foldConvAffine, saturateRanges, liveIntervals, valueIntervals, findActivationChains, replaceWithHardSwish, canDeclareOpset14 } from './qdq';
export type { QdqPassOptions, QdqPassReport, AppliedPass, BiasCorrectionOptions, BiasCorrectionResult, BiasSite, SmoothQuantOptions, SmoothQuantResult, SmoothSite, CrossLayerEqualizationOptions, CleResult, ClePair, ChannelRange, ChannelTensor, IsotoneOptions, IsotoneResult, SaturatedRange, LiveInterval, ActivationChain } from './qdq';
export type { QdqOptions, QdqReport, QuantizeFileOptions, QuantizeFileResult, ActivationType, QuantizeMode } from './qdq';
export { evaluateModels, dequantizedMap, formatEvaluation, formatEvaluationSummary, evaluationToJson, inspectKernels, INTEGER_KERNEL_OPS } from './evaluate';
export type { EvaluateOptions, EvaluationReport, KernelUsage, TensorMetrics, EvaluationItem, ModelSource } from './evaluate';
export * from './sensitivity';
export { upgradeOpset, OPSET_UPGRADE_CONVERTED_OPS, OPSET_UPGRADE_UNCHANGED_OPS } from './onnx/opset-upgrade';
export type { OpsetUpgradeResult } from './onnx/opset-upgrade';
export { createActivationHistogram, addToHistogram, mergeActivationHistograms } from './runner/activation-histogram';
export type { ActivationHistogram } from './runner/activation-histogram';
export { createActivationRecorder, serializeHistogram, deserializeHistogram, mergeHistogramSets, autoStride, AUTO_SAMPLE } from './runner/activation-recorder';
export type { HistogramSettings, TensorHistogram, ActivationHistograms, ActivationRecorder } from './runner/activation-recorder';
