export {
  DataRootsConfigError,
  DatasetInputError,
  DatasetLayoutError,
  PathNotFoundError,
  PathOutsideRootsError,
} from './errors';
export { DataRoots, parseDataRoots } from './data-roots';
export type { DataRoot, DataRootSpec, ResolvedPath } from './data-roots';
export { IMAGE_FILE_SUFFIXES, imageSuffixOf, isHiddenName, isImageFileName } from './image-files';
export { isSkipped, walkFiles } from './walk';
export type { SkippedFile, WalkEntry, WalkedFile, WalkOptions } from './walk';
export { describeSplitFolderNames, SPLIT_FOLDER_NAMES, splitOfFolderName } from './split-names';
export { CLASS_NAMES_FILE, readClassNamesFile } from './class-names';
export { detectLayout, parseFood5kFileName, scanDataset } from './layouts';
export type { DatasetScan, ResolvedLayout, ScanEntry, ScannedImage, ScanOptions } from './layouts';
export { mapConcurrent } from './map-concurrent';
export { formatRootRef, parseRootRef, resolveRootRef, rootRefOf } from './root-refs';
export type { RootRef } from './root-refs';
