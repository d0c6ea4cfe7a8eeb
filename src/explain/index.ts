// Looking inside: attention capture, rollout, gradient-weighted attention, pictures, reports.

export { recordAttention, groupByModule } from "./capture.js";
export type { AttentionRecord, RecordOptions, Recording } from "./capture.js";
export { attentionRollout, fuseHeads } from "./rollout.js";
export type { HeadFusion, RolloutOptions } from "./rollout.js";
export { gradientAttention, positiveGradTimesAttention, relevanceRollout } from "./grad-attention.js";
export type { GradientAttention, GradientAttentionOptions } from "./grad-attention.js";
export {
  tokenAttentionGrid, viridis, normalizeGrid, heatmapImage, overlayHeatmap, resizeNearest, tileImages,
  tensorToImage, encodePng, svgToPng, decodeImage, imageToInput,
} from "./image.js";
export type { RGBImage, Grid, TokenAttentionOptions, HeatmapOptions } from "./image.js";
export { attentionMatrixSvg, lineChartSvg, niceTicks, escapeXml } from "./svg.js";
export type { MatrixSvgOptions, Series, LineChartOptions } from "./svg.js";
export { frameGrids, videoHeatmaps, videoStrip, encodeGif, classifyVideoAttention, videoTokenMap, tokenMapToFrames } from "./video.js";
export type { VideoTokenLayout, VideoAttentionKind } from "./video.js";
export { explainImage, textAttentionPictures } from "./pictures.js";
export type { Picture, ImageExplainOptions, ImageExplanation } from "./pictures.js";
export { writeReport } from "./report.js";
export type { ReportOptions, ReportCurve, ReportSection, WrittenReport } from "./report.js";
export { writeFileAtomic } from "./files.js";
export { writeImageClassifierReport } from "./run-report.js";
export type { ImageClassifierReportOptions } from "./run-report.js";
