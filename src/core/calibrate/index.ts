// Importance math for calibration and pruning: pure functions and resumable float64 accumulators, no
// runtime dependencies (the engine feeds them activations; the pruner reads their rankings).

export { ActivationAccumulator, sumLayerScores, type ActivationAccumulatorState } from './activation-accumulator';
export { VarianceAccumulator, type VarianceAccumulatorState } from './variance-accumulator';
export {
  attentionHeadScores,
  mambaChannelScores,
  mambaHeadScores,
  rankAttentionHeads,
  rankMamba,
  rankMambaChannels,
  rankMambaHeads,
  rankOrder,
  rankWithinGroups,
  topK,
  type HeadChannelScores,
  type MambaHeadRanking,
  type MambaRanking,
  type MambaRankingTarget,
  type RankOptions,
} from './ranking';
export { flapColumnScores, flapHeadScores } from './flap';
export { blockImportance, cosineDistances, COSINE_EPS, klDivergence, klPerToken, MeanAccumulator, type MeanAccumulatorState } from './depth';
