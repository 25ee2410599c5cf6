export { openOutputSet, recoverOutputDir } from './output-set';
export type { OutputSet, OutputSetOptions } from './output-set';
export { readManifest, MANIFEST_NAME } from './output-set-fs';
export type { OutputManifest, ManifestRun } from './output-set-fs';
export { faultPoint } from './fault';
export { checkOutputFile } from './check-output-file';
