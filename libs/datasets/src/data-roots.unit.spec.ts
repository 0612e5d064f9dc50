import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataRoots, parseDataRoots } from './data-roots';
import { DataRootsConfigError, DatasetInputError, PathNotFoundError, PathOutsideRootsError } from './errors';
import { makeTempDir, removeDir, writeImage } from './testing/fixtures';

describe('parseDataRoots', () => {
  it('reads named and bare entries, ignoring blanks and surrounding spaces', () => {
    expect(parseDataRoots(' photos=/data/photos , /mnt/food-5k/ ,, raw.v2=/srv/raw')).toEqual([
      { name: 'photos', path: '/data/photos' },
      { name: 'food-5k', path: '/mnt/food-5k' },
      { name: 'raw.v2', path: '/srv/raw' },
    ]);
  });

  it('refuses relative paths, bad or repeated names and an empty list', () => {
    expect(() => parseDataRoots('photos=data/photos')).toThrow(/must be absolute/);
    expect(() => parseDataRoots('my photos=/data/photos')).toThrow(/name "my photos".*invalid/);
    expect(() => parseDataRoots('/data/a=b')).toThrow(/name "a=b".*invalid/);
    expect(() => parseDataRoots('/')).toThrow(/name "".*invalid.*name=\/path/);
    expect(() => parseDataRoots('x=/a, /b/x')).toThrow(/"x" is used twice/);
    expect(() => parseDataRoots(' , ')).toThrow(/no data roots/);
    expect(() => parseDataRoots('photos=data')).toThrow(DataRootsConfigError);
  });
});

describe('DataRoots', () => {
  let tmp: string;
  let photos: string;
  let food: string;
  let outside: string;
  let roots: DataRoots;

  beforeAll(async () => {
    tmp = await makeTempDir();
    photos = path.join(tmp, 'photos');
    food = path.join(tmp, 'food');
    outside = path.join(tmp, 'outside');
    await writeImage(path.join(photos, 'cats', 'a.jpg'));
    await writeImage(path.join(food, 'training', '0_1.jpg'));
    await writeImage(path.join(outside, 'secret', 'x.jpg'));
    await fs.symlink(outside, path.join(photos, 'to-outside'));
    await fs.symlink(path.join(outside, 'secret', 'x.jpg'), path.join(photos, 'x.jpg'));
    await fs.symlink(path.join(food, 'training'), path.join(photos, 'to-food'));
    // A root configured through a symlink.
    await fs.symlink(food, path.join(tmp, 'food-link'));
    roots = await DataRoots.open(`photos=${photos},${path.join(tmp, 'food-link')}`);
  });

  afterAll(() => removeDir(tmp));

  it('opens roots at their real paths', () => {
    expect(roots.roots).toEqual([
      { name: 'photos', path: photos },
      { name: 'food-link', path: food },
    ]);
    expect(roots.toString()).toBe(`photos=${photos},food-link=${food}`);
  });

  it('names a missing root, and refuses a file as a root', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(DataRoots.open([{ name: 'gone', path: missing }])).rejects.toThrow(
      new DataRootsConfigError(`data root "gone" (${missing}) cannot be opened: it does not exist`),
    );
    await expect(DataRoots.open(`f=${path.join(photos, 'cats', 'a.jpg')}`)).rejects.toThrow(/data root "f".*is not a folder/);
  });

  it('resolves a path relative to the first root', async () => {
    await expect(roots.resolve('cats')).resolves.toEqual({
      root: { name: 'photos', path: photos },
      absolutePath: path.join(photos, 'cats'),
      relativePath: 'cats',
    });
    expect((await roots.resolve('./cats/a.jpg')).relativePath).toBe('cats/a.jpg');
    expect((await roots.resolve('.')).relativePath).toBe('.');
  });

  it('resolves absolute paths in any root, also through the configured (symlinked) root path', async () => {
    const viaReal = await roots.resolve(path.join(food, 'training'));
    expect(viaReal).toEqual({ root: { name: 'food-link', path: food }, absolutePath: path.join(food, 'training'), relativePath: 'training' });
    await expect(roots.resolve(path.join(tmp, 'food-link', 'training'))).resolves.toEqual(viaReal);
  });

  it('follows a symlink that stays inside the roots, to its real path', async () => {
    await expect(roots.resolve('to-food')).resolves.toEqual({
      root: { name: 'food-link', path: food },
      absolutePath: path.join(food, 'training'),
      relativePath: 'training',
    });
  });

  it.each([
    ['.. traversal', '../outside'],
    ['.. traversal in the middle', 'cats/../../outside/secret'],
    ['.. traversal that does not exist', '../../no/such/place'],
    ['an absolute path elsewhere', '/etc'],
    ['a symlink to a folder outside', 'to-outside'],
    ['a path below a symlink leading out', 'to-outside/secret/x.jpg'],
    ['a missing path below a symlink leading out', 'to-outside/no-such-file'],
    ['a symlink to a file outside', 'x.jpg'],
  ])('refuses %s', async (_, input) => {
    const error = await roots.resolve(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PathOutsideRootsError);
    expect(error).toBeInstanceOf(DatasetInputError);
    expect((error as Error).message).toBe(
      `path "${input}" is outside the data roots (photos=${photos}, food-link=${food})`,
    );
  });

  it('says which path does not exist inside a root', async () => {
    const error = await roots.resolve('dogs/b.jpg').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PathNotFoundError);
    expect(error).toBeInstanceOf(DatasetInputError);
    expect((error as Error).message).toBe('path "dogs/b.jpg" does not exist');
    await expect(roots.resolve('cats/a.jpg/inside-a-file')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  it('refuses empty and NUL-containing input', async () => {
    await expect(roots.resolve('')).rejects.toBeInstanceOf(DatasetInputError);
    await expect(roots.resolve('cats\0')).rejects.toBeInstanceOf(DatasetInputError);
  });

  it('tells whether a real path is inside, picking the deepest of nested roots', async () => {
    expect(roots.isInside(path.join(photos, 'cats', 'a.jpg'))).toBe(true);
    expect(roots.isInside(photos)).toBe(true);
    expect(roots.isInside(`${photos}-other`)).toBe(false);
    expect(roots.isInside(path.join(outside, 'secret'))).toBe(false);
    expect(roots.isInside('/')).toBe(false);

    const nested = await DataRoots.open([
      { name: 'all', path: tmp },
      { name: 'cats', path: path.join(photos, 'cats') },
    ]);
    expect(nested.rootOf(path.join(photos, 'cats', 'a.jpg'))?.name).toBe('cats');
    expect(nested.rootOf(path.join(photos, 'x.jpg'))?.name).toBe('all');
    expect((await nested.resolve(path.join(photos, 'cats', 'a.jpg'))).relativePath).toBe('a.jpg');
  });
});
