import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DataRoots } from './data-roots';
import { scanDataset, ScannedImage } from './layouts';
import { isSkipped, SkippedFile } from './walk';
import { describeIf } from '@featx/testing';

/** `shared/` lies next to the repository (see shared/README.md); CI has it, a bare clone may not. */
const SHARED = path.resolve(__dirname, '../../../../shared');
const DATASET = path.join(SHARED, 'datasets', 'clothing-small');
const available = existsSync(DATASET);

describeIf(available, `${DATASET} is absent (shared/ is not next to the repository)`)(`clothing-small (${DATASET})`, () => {
  it('is detected as split-class with 3,781 images in 10 classes, as its manifest lists them', async () => {
    const roots = await DataRoots.open([{ name: 'shared', path: SHARED }]);
    const scan = await scanDataset('datasets/clothing-small', { layout: 'auto', roots });
    expect(scan.layout).toBe('split-class');

    const images: ScannedImage[] = [];
    const skipped: SkippedFile[] = [];
    for await (const entry of scan.entries) {
      if (isSkipped(entry)) skipped.push(entry);
      else images.push(entry);
    }
    expect(skipped).toEqual([]);
    expect(images).toHaveLength(3781);

    const perSplit: Record<string, number> = {};
    for (const image of images) perSplit[String(image.split)] = (perSplit[String(image.split)] ?? 0) + 1;
    expect(perSplit).toEqual({ training: 3068, validation: 341, evaluation: 372 });
    expect([...new Set(images.map((image) => image.label))].sort()).toEqual([
      'dress',
      'hat',
      'longsleeve',
      'outwear',
      'pants',
      'shirt',
      'shoes',
      'shorts',
      'skirt',
      't-shirt',
    ]);
    const realDataset = await fs.realpath(DATASET);
    expect(images.every((image) => image.bytes > 0 && image.absolutePath.startsWith(realDataset))).toBe(true);

    // manifest.csv: split,label,path for every image.
    const manifest = (await fs.readFile(path.join(DATASET, 'manifest.csv'), 'utf8')).trim().split('\n').slice(1);
    const scanned = images.map((image) => `${image.split},${image.label},${image.relativePath}`);
    expect(scanned.sort()).toEqual(manifest.sort());
  });
});
