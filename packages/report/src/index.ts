/** @qcal/report: the calibration report, one self-contained HTML page built from an output directory. */
export { readOutputDir } from './read-output-dir';
export type { ReportInputs, FallbackFile } from './read-output-dir';
export { buildReportModel } from './report-model';
export type { ReportModel, ReportTensor, ReportCollector, ReportEvaluation, ReportSensitivity } from './report-model';
export { renderReportHtml, embedJson } from './render-html';
export { writeReport, buildReport, REPORT_FILE } from './write-report';
export type { WriteReportResult } from './write-report';
