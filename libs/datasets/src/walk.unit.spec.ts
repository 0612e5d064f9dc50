import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PathOutsideRootsError } from './errors';
import { collect, dataRootSandbox, imageBytes, splitSkipped, writeImages, writeText } from './testing/fixtures';
import { isSkipped, SkippedFile, walkFiles, WalkedFile, WalkEntry } from './walk';

function split(entries: WalkEntry[]): { files: WalkedFile[]; skipped: SkippedFile[] } {
  const { kept, skipped } = splitSkipped(entries);
  return { files: kept, skipped };
}

describe('walkFiles', () => {
  const sandbox = dataRootSandbox(['secret.jpg', 'album/y.png']);

  it('yields visible image files with posix paths, sizes and times, ignoring other files', async () => {
    await writeImages(sandbox.data, ['a.jpg', 'B.PNG', 'deep/er/c.webp', 'deep/d.gif', 'deep/t.tiff']);
    await writeText(path.join(sandbox.data, 'notes.txt'), 'not an image');
    await writeText(path.join(sandbox.data, 'deep', 'labels.csv'), 'a,b');
    await fs.mkdir(path.join(sandbox.data, 'empty'));

    const { files, skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(skipped).toEqual([]);
    expect(files.map((f) => f.relativePath)).toEqual(['B.PNG', 'a.jpg', 'deep/d.gif', 'deep/er/c.webp', 'deep/t.tiff']);
    const deep = files.find((f) => f.name === 'c.webp')!;
    const stats = await fs.stat(path.join(sandbox.data, 'deep', 'er', 'c.webp'));
    expect(deep).toEqual({
      absolutePath: path.join(sandbox.data, 'deep', 'er', 'c.webp'),
      name: 'c.webp',
      relativePath: 'deep/er/c.webp',
      bytes: stats.size,
      mtimeMs: stats.mtimeMs,
    });
    expect(deep.bytes).toBeGreaterThan(0);
  });

  it('skips hidden files and hidden folders silently', async () => {
    await writeImages(sandbox.data, ['a.jpg', '.hidden.jpg', '.thumbs/b.jpg', 'cats/.ipynb_checkpoints/c.jpg', 'cats/._d.jpg']);
    const { files, skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(files.map((f) => f.relativePath)).toEqual(['a.jpg']);
    expect(skipped).toEqual([]);
  });

  it('follows symlinks to files and folders inside the roots', async () => {
    await writeImages(sandbox.data, ['real/a.jpg', 'real/sub/b.jpg']);
    await fs.symlink(path.join(sandbox.data, 'real'), path.join(sandbox.data, 'linked'));
    await fs.symlink(path.join(sandbox.data, 'real', 'a.jpg'), path.join(sandbox.data, 'alias.jpg'));

    const { files, skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(skipped).toEqual([]);
    expect(files.map((f) => [f.relativePath, path.relative(sandbox.data, f.absolutePath)])).toEqual([
      ['alias.jpg', 'real/a.jpg'],
      ['linked/a.jpg', 'real/a.jpg'],
      ['linked/sub/b.jpg', 'real/sub/b.jpg'],
      ['real/a.jpg', 'real/a.jpg'],
      ['real/sub/b.jpg', 'real/sub/b.jpg'],
    ]);
  });

  it('reports symlinks leading outside the roots instead of following them', async () => {
    await writeImages(sandbox.data, ['cats/a.jpg']);
    await fs.symlink(sandbox.outside, path.join(sandbox.data, 'cats', 'escape'));
    await fs.symlink(path.join(sandbox.outside, 'secret.jpg'), path.join(sandbox.data, 'cats', 'b.jpg'));
    await fs.symlink('../outside/album', path.join(sandbox.data, 'relative-escape'));

    const { files, skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(files.map((f) => f.relativePath)).toEqual(['cats/a.jpg']);
    expect(skipped).toEqual([
      { skipped: true, relativePath: 'cats/b.jpg', reason: `symlink leads outside the data roots (to ${path.join(sandbox.outside, 'secret.jpg')})` },
      { skipped: true, relativePath: 'cats/escape', reason: `symlink leads outside the data roots (to ${sandbox.outside})` },
      { skipped: true, relativePath: 'relative-escape', reason: `symlink leads outside the data roots (to ${path.join(sandbox.outside, 'album')})` },
    ]);
    expect(files.every((f) => sandbox.roots.isInside(f.absolutePath))).toBe(true);
  });

  it('refuses to walk a folder outside the roots, also through a symlink', async () => {
    await fs.symlink(sandbox.outside, path.join(sandbox.data, 'escape'));
    await expect(collect(walkFiles(sandbox.outside, { roots: sandbox.roots }))).rejects.toBeInstanceOf(PathOutsideRootsError);
    await expect(collect(walkFiles(path.join(sandbox.data, 'escape'), { roots: sandbox.roots }))).rejects.toBeInstanceOf(PathOutsideRootsError);
  });

  it('does not loop on symlink cycles', async () => {
    await writeImages(sandbox.data, ['a/x.jpg', 'b/y.jpg']);
    await fs.symlink('..', path.join(sandbox.data, 'a', 'up'));
    await fs.symlink(sandbox.data, path.join(sandbox.data, 'b', 'top'));
    await fs.symlink(path.join(sandbox.data, 'b'), path.join(sandbox.data, 'a', 'to-b'));
    await fs.symlink(path.join(sandbox.data, 'a'), path.join(sandbox.data, 'b', 'to-a'));
    await fs.symlink('self-loop', path.join(sandbox.data, 'self-loop'));

    const { files, skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(files.map((f) => f.relativePath)).toEqual(['a/to-b/y.jpg', 'a/x.jpg', 'b/to-a/x.jpg', 'b/y.jpg']);
    expect(skipped).toEqual([
      { skipped: true, relativePath: 'a/to-b/to-a', reason: 'symlink cycle: leads back to the enclosing folder "a"' },
      { skipped: true, relativePath: 'a/to-b/top', reason: 'symlink cycle: leads back to the enclosing folder "."' },
      { skipped: true, relativePath: 'a/up', reason: 'symlink cycle: leads back to the enclosing folder "."' },
      { skipped: true, relativePath: 'b/to-a/to-b', reason: 'symlink cycle: leads back to the enclosing folder "b"' },
      { skipped: true, relativePath: 'b/to-a/up', reason: 'symlink cycle: leads back to the enclosing folder "."' },
      { skipped: true, relativePath: 'b/top', reason: 'symlink cycle: leads back to the enclosing folder "."' },
      { skipped: true, relativePath: 'self-loop', reason: 'symlink loop' },
    ]);
  });

  it('reports broken symlinks', async () => {
    await writeImages(sandbox.data, ['a.jpg']);
    await fs.symlink(path.join(sandbox.data, 'gone.jpg'), path.join(sandbox.data, 'broken.jpg'));
    const { skipped } = split(await collect(walkFiles(sandbox.data, { roots: sandbox.roots })));
    expect(skipped).toEqual([{ skipped: true, relativePath: 'broken.jpg', reason: 'broken symlink' }]);
  });

  it('skips whole folders the caller rejects, with one record', async () => {
    await writeImages(sandbox.data, ['keep/a.jpg', 'drop/b.jpg', 'drop/c.jpg', 'keep/drop/d.jpg']);
    const { files, skipped } = split(
      await collect(walkFiles(sandbox.data, { roots: sandbox.roots, skipFolder: (p) => (p === 'drop' ? 'not wanted' : undefined) })),
    );
    expect(files.map((f) => f.relativePath)).toEqual(['keep/a.jpg', 'keep/drop/d.jpg']);
    expect(skipped).toEqual([{ skipped: true, relativePath: 'drop', reason: 'not wanted' }]);
  });

  it('streams a large folder with opendir, never readdir, and can stop early', async () => {
    const bytes = await imageBytes(7);
    const count = 1000;
    await fs.mkdir(path.join(sandbox.data, 'big'));
    for (let i = 0; i < count; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, count - i) }, (_, j) => fs.writeFile(path.join(sandbox.data, 'big', `${i + j}.jpg`), bytes)),
      );
    }
    const readdir = jest.spyOn(fs, 'readdir');
    try {
      let seen = 0;
      for await (const entry of walkFiles(sandbox.data, { roots: sandbox.roots })) {
        expect(isSkipped(entry)).toBe(false);
        seen++;
      }
      expect(seen).toBe(count);

      const firstFive: WalkEntry[] = [];
      for await (const entry of walkFiles(sandbox.data, { roots: sandbox.roots })) {
        firstFive.push(entry);
        if (firstFive.length === 5) break;
      }
      expect(firstFive).toHaveLength(5);
      expect(readdir).not.toHaveBeenCalled();
    } finally {
      readdir.mockRestore();
    }
  });
});
