import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DatasetInputError, DatasetLayoutError, PathNotFoundError, PathOutsideRootsError } from './errors';
import { detectLayout, parseFood5kFileName, ScanEntry, scanDataset, ScannedImage } from './layouts';
import { collect, dataRootSandbox, splitSkipped, writeImages, writeText } from './testing/fixtures';
import { SkippedFile } from './walk';

async function scanAll(entries: AsyncIterable<ScanEntry>): Promise<{ images: ScannedImage[]; skipped: SkippedFile[] }> {
  const { kept, skipped } = splitSkipped(await collect(entries));
  return { images: kept, skipped };
}

/** [split, label, relativePath] triples, easy to compare. */
const triples = (images: ScannedImage[]) => images.map((i) => [i.split, i.label, i.relativePath]);

describe('dataset layouts', () => {
  const sandbox = dataRootSandbox(['cats/x.jpg', '0_1.jpg']);

  describe('split-class', () => {
    it('reads <split>/<class>/<file>, normalizing split names, nested folders labelled by their class', async () => {
      const folder = path.join(sandbox.data, 'keras');
      await writeImages(folder, [
        'train/cats/a.jpg',
        'train/dogs/b.png',
        'Val/cats/c.webp',
        'test/dogs/d.jpeg',
        'test/dogs/puppies/small/e.jpg',
      ]);
      const scan = await scanDataset('keras', { layout: 'auto', roots: sandbox.roots });
      expect(scan.layout).toBe('split-class');
      expect(scan.classes).toBeUndefined();
      expect(scan.folder).toEqual({ root: sandbox.roots.roots[0], absolutePath: folder, relativePath: 'keras' });
      const { images, skipped } = await scanAll(scan.entries);
      expect(skipped).toEqual([]);
      expect(triples(images)).toEqual([
        ['validation', 'cats', 'Val/cats/c.webp'],
        ['evaluation', 'dogs', 'test/dogs/d.jpeg'],
        ['evaluation', 'dogs', 'test/dogs/puppies/small/e.jpg'],
        ['training', 'cats', 'train/cats/a.jpg'],
        ['training', 'dogs', 'train/dogs/b.png'],
      ]);
      const first = images.find((i) => i.relativePath === 'train/cats/a.jpg')!;
      const stats = await fs.stat(path.join(folder, 'train/cats/a.jpg'));
      expect(first).toEqual({
        split: 'training',
        label: 'cats',
        relativePath: 'train/cats/a.jpg',
        absolutePath: path.join(folder, 'train/cats/a.jpg'),
        bytes: stats.size,
        mtimeMs: stats.mtimeMs,
      });
      // The fixtures are real images.
      await expect(sharp(first.absolutePath).metadata()).resolves.toMatchObject({ format: 'jpeg', width: 8, height: 8 });
    });

    it('accepts every split folder alias', async () => {
      const names = ['training', 'train', 'validation', 'val', 'valid', 'evaluation', 'test', 'eval'];
      await writeImages(sandbox.data, names.map((name) => `${name}/c/${name}.jpg`));
      expect(await detectLayout(sandbox.data, sandbox.roots)).toBe('split-class');
      const { images } = await scanAll((await scanDataset(sandbox.data, { layout: 'split-class', roots: sandbox.roots })).entries);
      expect(Object.fromEntries(images.map((i) => [i.relativePath.split('/')[0], i.split]))).toEqual({
        training: 'training',
        train: 'training',
        validation: 'validation',
        val: 'validation',
        valid: 'validation',
        evaluation: 'evaluation',
        test: 'evaluation',
        eval: 'evaluation',
      });
    });

    it('skips hidden entries and non-images silently, misplaced images with a reason', async () => {
      await writeImages(sandbox.data, [
        'training/cats/a.jpg',
        'training/cats/.b.jpg',
        'training/.cache/cats/c.jpg',
        '.git/training/cats/d.jpg',
        'training/stray.jpg',
        'top.jpg',
        'extras/cats/e.jpg',
        'extras/cats/f.jpg',
      ]);
      await writeText(path.join(sandbox.data, 'training', 'cats', 'notes.txt'), 'hello');
      await writeText(path.join(sandbox.data, 'README.md'), '# dataset');
      const { images, skipped } = await scanAll((await scanDataset(sandbox.data, { layout: 'auto', roots: sandbox.roots })).entries);
      expect(triples(images)).toEqual([['training', 'cats', 'training/cats/a.jpg']]);
      expect(skipped).toEqual([
        {
          skipped: true,
          relativePath: 'extras',
          reason: 'not a split folder (expected training|train, validation|val|valid, evaluation|test|eval)',
        },
        { skipped: true, relativePath: 'top.jpg', reason: 'not inside a split folder: expected <split>/<class>/<file>' },
        {
          skipped: true,
          relativePath: 'training/stray.jpg',
          reason: 'not inside a class folder: expected <split>/<class>/<file>',
        },
      ]);
    });
  });

  describe('food5k', () => {
    it('reads <split>/<classIndex>_<n>.<ext> with names from classes.txt', async () => {
      await writeImages(sandbox.data, ['training/0_1.jpg', 'training/1_1.jpg', 'validation/1_7.JPG', 'evaluation/0_0.png']);
      await writeText(path.join(sandbox.data, 'classes.txt'), '\uFEFFnon_food\r\n  food  \n\n');
      expect(await detectLayout(sandbox.data, sandbox.roots)).toBe('food5k');
      const scan = await scanDataset('.', { layout: 'auto', roots: sandbox.roots });
      expect(scan.layout).toBe('food5k');
      expect(scan.classes).toEqual(['non_food', 'food']);
      const { images, skipped } = await scanAll(scan.entries);
      expect(skipped).toEqual([]);
      expect(triples(images)).toEqual([
        ['evaluation', 'non_food', 'evaluation/0_0.png'],
        ['training', 'non_food', 'training/0_1.jpg'],
        ['training', 'food', 'training/1_1.jpg'],
        ['validation', 'food', 'validation/1_7.JPG'],
      ]);
    });

    it('prefers the classes option over classes.txt', async () => {
      await writeImages(sandbox.data, ['train/0_1.jpg', 'train/1_2.jpg']);
      await writeText(path.join(sandbox.data, 'classes.txt'), 'a\nb\n');
      const scan = await scanDataset(sandbox.data, { layout: 'food5k', classes: ['pizza', 'salad'], roots: sandbox.roots });
      expect(scan.classes).toEqual(['pizza', 'salad']);
      expect(triples((await scanAll(scan.entries)).images)).toEqual([
        ['training', 'pizza', 'train/0_1.jpg'],
        ['training', 'salad', 'train/1_2.jpg'],
      ]);
    });

    it('skips badly named files, unknown class indexes and nested folders with clear reasons', async () => {
      await writeImages(sandbox.data, [
        'training/0_1.jpg',
        'training/cat.jpg',
        'training/0-2.jpg',
        'training/2_5.jpg',
        'training/nested/1_1.jpg',
        'misc/0_3.jpg',
      ]);
      await writeText(path.join(sandbox.data, 'classes.txt'), 'non_food\nfood\n');
      // Explicit: a split folder holding a subfolder would be detected as split-class.
      await expect(detectLayout(sandbox.data, sandbox.roots)).resolves.toBe('split-class');
      const { images, skipped } = await scanAll((await scanDataset(sandbox.data, { layout: 'food5k', roots: sandbox.roots })).entries);
      expect(triples(images)).toEqual([['training', 'non_food', 'training/0_1.jpg']]);
      expect(skipped).toEqual([
        {
          skipped: true,
          relativePath: 'misc',
          reason: 'not a split folder (expected training|train, validation|val|valid, evaluation|test|eval)',
        },
        { skipped: true, relativePath: 'training/0-2.jpg', reason: 'name does not match <classIndex>_<n>.<ext>' },
        { skipped: true, relativePath: 'training/2_5.jpg', reason: 'class index 2 has no class name (2 classes are named)' },
        { skipped: true, relativePath: 'training/cat.jpg', reason: 'name does not match <classIndex>_<n>.<ext>' },
        {
          skipped: true,
          relativePath: 'training/nested',
          reason: 'food5k split folders hold images directly, not folders: expected <split>/<classIndex>_<n>.<ext>',
        },
      ]);
    });

    it('needs class names', async () => {
      await writeImages(sandbox.data, ['training/0_1.jpg']);
      await expect(scanDataset(sandbox.data, { layout: 'auto', roots: sandbox.roots })).rejects.toThrow(
        new DatasetLayoutError(
          `the food5k layout needs class names: pass "classes" or write classes.txt (one name per line) in "${sandbox.data}"`,
        ),
      );
      await writeText(path.join(sandbox.data, 'classes.txt'), 'a\nb\na\n');
      await expect(scanDataset(sandbox.data, { layout: 'auto', roots: sandbox.roots })).rejects.toThrow(/names class "a" twice/);
      await expect(scanDataset(sandbox.data, { layout: 'food5k', classes: [], roots: sandbox.roots })).rejects.toThrow(
        'the classes option names no classes',
      );
    });

    it('refuses a classes.txt that is a symlink leading out', async () => {
      await writeImages(sandbox.data, ['training/0_1.jpg']);
      await writeText(path.join(sandbox.outside, 'classes.txt'), 'x\n');
      await fs.symlink(path.join(sandbox.outside, 'classes.txt'), path.join(sandbox.data, 'classes.txt'));
      await expect(scanDataset(sandbox.data, { layout: 'food5k', roots: sandbox.roots })).rejects.toThrow(/classes.txt .* leading outside/);
    });

    it('ends the stream with an error when no file yields an image', async () => {
      await writeImages(sandbox.data, ['training/cat.jpg', 'training/dog.jpg']);
      const scan = await scanDataset(sandbox.data, { layout: 'food5k', classes: ['a'], roots: sandbox.roots });
      const error = await collect(scan.entries).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatasetLayoutError);
      expect((error as Error).message).toMatch(
        /^no images found in ".*" for the food5k layout \(<split>\/<classIndex>_<n>\.<ext>\); 2 skipped, e\.g\. "training\/(cat|dog)\.jpg": name does not match/,
      );
    });

    it('parses Food-5K file names', () => {
      expect(parseFood5kFileName('1_234.jpg')).toEqual({ classIndex: 1, n: 234 });
      expect(parseFood5kFileName('10_0.JPEG')).toEqual({ classIndex: 10, n: 0 });
      expect(parseFood5kFileName('1_2.txt')).toBeUndefined();
      expect(parseFood5kFileName('a_2.jpg')).toBeUndefined();
      expect(parseFood5kFileName('1_2_3.jpg')).toBeUndefined();
    });
  });

  describe('class', () => {
    it('reads <class>/<file> with no split', async () => {
      await writeImages(sandbox.data, ['cats/a.jpg', 'dogs/b.jpg', 'dogs/old/c.png', 'loose.jpg', '.trash/d.jpg']);
      const scan = await scanDataset(sandbox.data, { layout: 'auto', roots: sandbox.roots });
      expect(scan.layout).toBe('class');
      const { images, skipped } = await scanAll(scan.entries);
      expect(triples(images)).toEqual([
        [null, 'cats', 'cats/a.jpg'],
        [null, 'dogs', 'dogs/b.jpg'],
        [null, 'dogs', 'dogs/old/c.png'],
      ]);
      expect(skipped).toEqual([
        { skipped: true, relativePath: 'loose.jpg', reason: 'not inside a class folder: expected <class>/<file>' },
      ]);
    });

    it('treats split-named folders holding images directly as classes', async () => {
      await writeImages(sandbox.data, ['test/a.jpg', 'cats/b.jpg']);
      expect(await detectLayout(sandbox.data, sandbox.roots)).toBe('class');
    });

    it('scans entries afresh on each iteration', async () => {
      await writeImages(sandbox.data, ['cats/a.jpg']);
      const scan = await scanDataset(sandbox.data, { layout: 'class', roots: sandbox.roots });
      expect((await scanAll(scan.entries)).images).toHaveLength(1);
      await writeImages(sandbox.data, ['cats/a.jpg', 'cats/b.jpg']);
      expect((await scanAll(scan.entries)).images).toHaveLength(2);
    });
  });

  describe('detection and checks', () => {
    it('says when nothing fits', async () => {
      await expect(detectLayout(sandbox.data, sandbox.roots)).rejects.toThrow(new DatasetLayoutError(`no images found in "${sandbox.data}"`));
      await writeImages(sandbox.data, ['a.jpg', 'b.jpg']);
      await expect(detectLayout(sandbox.data)).rejects.toThrow(/fits no dataset layout: its images lie directly in it/);
      await fs.mkdir(path.join(sandbox.data, 'empty-class'));
      await expect(detectLayout(sandbox.data, sandbox.roots)).rejects.toThrow(
        new DatasetLayoutError(
          `no images found in "${sandbox.data}" (looked for the class layout; 2 images lie directly in the folder, outside any folder)`,
        ),
      );
    });

    it('checks an explicit layout against the folder', async () => {
      await writeImages(sandbox.data, ['cats/a.jpg']);
      await expect(scanDataset(sandbox.data, { layout: 'split-class', roots: sandbox.roots })).rejects.toThrow(
        `"${sandbox.data}" has no split folders for the split-class layout (expected training|train, validation|val|valid, evaluation|test|eval)`,
      );
      await expect(scanDataset(sandbox.data, { layout: 'food5k', classes: ['a'], roots: sandbox.roots })).rejects.toThrow(DatasetLayoutError);
      await expect(scanDataset(sandbox.data, { layout: 'class', classes: ['a'], roots: sandbox.roots })).rejects.toThrow(
        `class names apply to the food5k layout only; "${sandbox.data}" has the class layout`,
      );
    });

    it('detects without roots, following symlinks only inside the folder', async () => {
      await writeImages(sandbox.data, ['cats/a.jpg']);
      expect(await detectLayout(sandbox.data)).toBe('class');
      const linked = path.join(sandbox.data, 'linked');
      await fs.mkdir(linked);
      await fs.symlink(path.join(sandbox.outside, 'cats'), path.join(linked, 'cats'));
      await expect(detectLayout(linked)).rejects.toThrow(/no images found/);
    });
  });

  describe('paths', () => {
    it('refuses dataset folders outside the roots', async () => {
      await fs.symlink(sandbox.outside, path.join(sandbox.data, 'escape'));
      for (const input of ['../outside', path.join(sandbox.data, '..', 'outside'), sandbox.outside, 'escape', '/']) {
        const error = await scanDataset(input, { layout: 'auto', roots: sandbox.roots }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PathOutsideRootsError);
      }
      await expect(scanDataset('missing', { layout: 'auto', roots: sandbox.roots })).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('does not look into a split folder that is a symlink leading out', async () => {
      await writeImages(sandbox.data, ['set/dogs/b.jpg']);
      await fs.symlink(sandbox.outside, path.join(sandbox.data, 'set', 'training'));
      const scan = await scanDataset('set', { layout: 'auto', roots: sandbox.roots });
      expect(scan.layout).toBe('class');
      const { images, skipped } = await scanAll(scan.entries);
      expect(triples(images)).toEqual([[null, 'dogs', 'dogs/b.jpg']]);
      expect(skipped).toEqual([
        { skipped: true, relativePath: 'training', reason: `symlink leads outside the data roots (to ${sandbox.outside})` },
      ]);
    });

    it('refuses a file as the dataset folder', async () => {
      await writeImages(sandbox.data, ['cats/a.jpg']);
      await expect(scanDataset('cats/a.jpg', { layout: 'auto', roots: sandbox.roots })).rejects.toThrow(
        new DatasetInputError('path "cats/a.jpg" is not a folder'),
      );
    });

    it('reports symlinks in the tree leading out and symlink cycles, and follows the ones inside', async () => {
      await writeImages(sandbox.data, ['set/training/cats/a.jpg', 'shared/dogs/b.jpg']);
      await fs.symlink(path.join(sandbox.outside, 'cats'), path.join(sandbox.data, 'set', 'training', 'more-cats'));
      await fs.symlink(path.join(sandbox.outside, '0_1.jpg'), path.join(sandbox.data, 'set', 'training', 'cats', 'c.jpg'));
      await fs.symlink(path.join(sandbox.data, 'set'), path.join(sandbox.data, 'set', 'training', 'cats', 'loop'));
      await fs.symlink(path.join(sandbox.data, 'shared', 'dogs'), path.join(sandbox.data, 'set', 'training', 'dogs'));
      const scan = await scanDataset('set', { layout: 'auto', roots: sandbox.roots });
      expect(scan.layout).toBe('split-class');
      const { images, skipped } = await scanAll(scan.entries);
      expect(triples(images)).toEqual([
        ['training', 'cats', 'training/cats/a.jpg'],
        ['training', 'dogs', 'training/dogs/b.jpg'],
      ]);
      expect(images[1].absolutePath).toBe(path.join(sandbox.data, 'shared', 'dogs', 'b.jpg'));
      expect(skipped).toEqual([
        {
          skipped: true,
          relativePath: 'training/cats/c.jpg',
          reason: `symlink leads outside the data roots (to ${path.join(sandbox.outside, '0_1.jpg')})`,
        },
        { skipped: true, relativePath: 'training/cats/loop', reason: 'symlink cycle: leads back to the enclosing folder "."' },
        {
          skipped: true,
          relativePath: 'training/more-cats',
          reason: `symlink leads outside the data roots (to ${path.join(sandbox.outside, 'cats')})`,
        },
      ]);
    });
  });
});
