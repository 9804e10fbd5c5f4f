// buildSpec: config.json (+ the tensor names/shapes on disk, when known) → HybridModelSpec.

import { HybridCompressError } from '../errors';
import type { Family, HybridModelSpec } from './spec';
import { buildNemotronH } from './families/nemotron-h';
import { buildMamba2 } from './families/mamba2';
import { buildInspectionOnly, type ShapeMap } from './families/inspection-only';

export * from './spec';
export { validateTensors, type TensorOnDisk } from './validate';

const INSPECTION_ONLY: readonly Family[] = ['bamba', 'granitemoehybrid', 'zamba2', 'falcon_h1', 'jamba'];
export const KNOWN_MODEL_TYPES: readonly string[] = ['nemotron_h', 'mamba2', ...INSPECTION_ONLY];

export function buildSpec(config: Record<string, unknown>, tensors?: Iterable<string> | ShapeMap): HybridModelSpec {
  const modelType = config['model_type'];
  let names: Set<string> | undefined;
  let shapes: ShapeMap | undefined;
  if (tensors instanceof Map) {
    shapes = tensors as ShapeMap;
    names = new Set(shapes.keys());
  } else if (tensors) names = new Set(tensors as Iterable<string>);
  if (modelType === 'nemotron_h' || modelType === 'nemotron-h' || modelType === 'nemotronh') return buildNemotronH(config, names);
  if (modelType === 'mamba2') return buildMamba2(config, names);
  if (typeof modelType === 'string' && (INSPECTION_ONLY as readonly string[]).includes(modelType)) return buildInspectionOnly(modelType as Family, config, shapes);
  throw new HybridCompressError(
    'UNSUPPORTED_ARCHITECTURE',
    `config.json: model_type ${JSON.stringify(modelType)} is not supported (supported: nemotron_h, mamba2; inspection only: ${INSPECTION_ONLY.join(', ')})`,
    { file: 'config.json', option: 'model_type' },
  );
}
