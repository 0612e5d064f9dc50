/**
 * Errors caused by what a caller asked for (a path, a layout, class names), as opposed to
 * faults of the machine. The API maps every `DatasetInputError` to 400 Bad Request and the
 * ingest service records its message as the reason a command failed.
 */
export class DatasetInputError extends Error {
  override readonly name: string = 'DatasetInputError';
}

/** The input resolves (lexically or through a symlink) to a place outside every data root. */
export class PathOutsideRootsError extends DatasetInputError {
  override readonly name: string = 'PathOutsideRootsError';

  constructor(
    readonly input: string,
    readonly roots: readonly { name: string; path: string }[],
  ) {
    const list = roots.map((root) => `${root.name}=${root.path}`).join(', ');
    super(`path "${input}" is outside the data roots (${list})`);
  }
}

/** The input lies inside a data root but nothing exists there. */
export class PathNotFoundError extends DatasetInputError {
  override readonly name: string = 'PathNotFoundError';

  constructor(readonly input: string) {
    super(`path "${input}" does not exist`);
  }
}

/** The folder's contents fit no dataset layout, or not the layout that was asked for. */
export class DatasetLayoutError extends DatasetInputError {
  override readonly name: string = 'DatasetLayoutError';
}

/**
 * The data roots configuration itself is wrong (bad syntax, a root that does not exist).
 * Not a `DatasetInputError`: it is the operator's mistake, found at startup, not a client's.
 */
export class DataRootsConfigError extends Error {
  override readonly name: string = 'DataRootsConfigError';
}
