import sharp, { AvailableFormatInfo } from 'sharp';

/** BMP is not a libvips format; featx decodes it itself before handing pixels to sharp. */
const EXTRA_IMAGE_SUFFIXES = ['.bmp'];

/**
 * Lower-case file name suffixes featx accepts as images: every suffix sharp can read from a
 * file in this build, plus `.bmp`. Computed at load so a sharp with more formats accepts more.
 * Some are compound (`.svg.gz`), so match with `endsWith`, not `path.extname`.
 */
export const IMAGE_FILE_SUFFIXES: readonly string[] = Object.freeze(
  [
    ...new Set([
      ...(Object.values(sharp.format) as AvailableFormatInfo[]).flatMap((info) =>
        info.input.file ? (info.input.fileSuffix ?? []).map((suffix) => suffix.toLowerCase()) : [],
      ),
      ...EXTRA_IMAGE_SUFFIXES,
    ]),
  ]
    // Longest first, so `imageSuffixOf` returns `.svg.gz` rather than a shorter match.
    .sort((a, b) => b.length - a.length || a.localeCompare(b)),
);

/** Hidden entries (`.DS_Store`, `.git`, `.ipynb_checkpoints`) are never part of a dataset. */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/** The image suffix a file name ends with (lower case), or undefined. */
export function imageSuffixOf(name: string): string | undefined {
  const lower = name.toLowerCase();
  return IMAGE_FILE_SUFFIXES.find((suffix) => lower.length > suffix.length && lower.endsWith(suffix));
}

/** Whether a file name is a visible image file name (case-insensitive). */
export function isImageFileName(name: string): boolean {
  return !isHiddenName(name) && imageSuffixOf(name) !== undefined;
}
