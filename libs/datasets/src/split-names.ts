import { Split } from '@featx/contracts';

/** Folder names accepted for each split (compared case-insensitively): Keras, PyTorch and Food-5K habits. */
export const SPLIT_FOLDER_NAMES: Readonly<Record<Split, readonly string[]>> = Object.freeze({
  training: ['training', 'train'],
  validation: ['validation', 'val', 'valid'],
  evaluation: ['evaluation', 'test', 'eval'],
});

const SPLIT_BY_FOLDER_NAME = new Map<string, Split>(
  (Object.entries(SPLIT_FOLDER_NAMES) as [Split, readonly string[]][]).flatMap(([split, names]) =>
    names.map((name) => [name, split] as const),
  ),
);

/** The split a folder name stands for, or null when it names no split. */
export function splitOfFolderName(name: string): Split | null {
  return SPLIT_BY_FOLDER_NAME.get(name.toLowerCase()) ?? null;
}

/** `training|train, validation|val|valid, evaluation|test|eval`, for error messages. */
export function describeSplitFolderNames(): string {
  return Object.values(SPLIT_FOLDER_NAMES)
    .map((names) => names.join('|'))
    .join(', ');
}
