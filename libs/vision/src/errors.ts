/** A file or buffer could not be turned into pixels; `source` names the file (or `<buffer>`). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(
    readonly source: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot decode image ${source}: ${reason}`, options);
  }
}

/** Weights a network needs are neither cached, local, nor downloadable. */
export class WeightsUnavailableError extends Error {
  override readonly name = 'WeightsUnavailableError';
}

/** A weights file exists but its checksum is not the published one. */
export class WeightsChecksumError extends Error {
  override readonly name = 'WeightsChecksumError';
  constructor(
    readonly filePath: string,
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${filePath}: ${algorithm} is ${actual}, expected ${expected} (corrupt, truncated or a different file)`);
  }
}

/** A weights file does not fit the network: missing layer, wrong count or wrong shape. */
export class WeightsMismatchError extends Error {
  override readonly name = 'WeightsMismatchError';
  constructor(
    readonly filePath: string,
    readonly problems: string[],
  ) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    super(`weights in ${filePath} do not fit the model (${problems.length} problem(s)):\n  ${shown}${more}`);
  }
}

/** A model folder or its spec is unusable. */
export class ModelFolderError extends Error {
  override readonly name = 'ModelFolderError';
}
