import { loadModel, indexGraph, modelInputs, openData, type DataOptions, type OpenedData } from '@qcal/core';

/** Opens evaluation data for a model (validated against its inputs, like calibration data). */
export async function openEvalData(modelPath: string, data: DataOptions, cwd: string): Promise<OpenedData> {
  const { model } = loadModel(modelPath);
  return openData(data, modelInputs(indexGraph(model), model), cwd, model.graph!.output.map((o) => o.name));
}
