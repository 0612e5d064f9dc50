import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeImage, ImageDecodeError } from '@featx/vision';
import { HOSTILE_IMAGES, UPRIGHT, writeHostileImages } from './hostile-images';

/** The one decode path (extraction and prediction) against hostile files, without services. */
describe('decodeImage on hostile files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-hostile-decode-'));
    await writeHostileImages(dir);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const pixel = (image: { data: Uint8Array; width: number }, x: number, y: number) => Array.from(image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3));

  for (const image of HOSTILE_IMAGES) {
    it(`${image.what} (${image.name}) → ${image.expect.stored ? 'decoded' : 'refused with its reason'}`, async () => {
      const file = path.join(dir, image.name);
      if (image.expect.stored) {
        const decoded = await decodeImage(file, { size: [224, 224] });
        expect(decoded.data.length).toBe(224 * 224 * 3);
        const native = await decodeImage(file);
        expect([native.width, native.height]).toEqual([UPRIGHT.width, UPRIGHT.height]);
      } else {
        const started = Date.now();
        const error = await decodeImage(file, { size: [224, 224] }).catch((e) => e);
        expect(error).toBeInstanceOf(ImageDecodeError);
        expect(error.message).toMatch(image.expect.reason);
        expect(error.message).toContain(image.name);
        expect(Date.now() - started).toBeLessThan(5000);
      }
    });
  }

  it('turns the EXIF-rotated JPEG upright: left red, right blue', async () => {
    const image = await decodeImage(path.join(dir, 'exif-orientation-6.jpg'));
    expect([image.width, image.height]).toEqual([64, 32]);
    const [lr, lg, lb] = pixel(image, 4, 16);
    const [rr, rg, rb] = pixel(image, 60, 16);
    expect(lr).toBeGreaterThan(200);
    expect(lb).toBeLessThan(60);
    expect(lg).toBeLessThan(60);
    expect(rb).toBeGreaterThan(200);
    expect(rr).toBeLessThan(60);
    expect(rg).toBeLessThan(60);
  });

  it('takes the first frame of an animated GIF (red), not the frames stacked', async () => {
    const image = await decodeImage(path.join(dir, 'animated.gif'));
    expect([image.width, image.height]).toEqual([64, 32]);
    expect(pixel(image, 32, 30)).toEqual([255, 0, 0]);
  });

  it('keeps colours of CMYK, 16-bit and alpha images (left red, right blue)', async () => {
    // CMYK has no pure sRGB blue: the round trip through its profile gives a darker blue (~28,60,139).
    for (const name of ['cmyk.jpg', 'sixteen-bit.png', 'alpha.png', 'reference.png']) {
      const image = await decodeImage(path.join(dir, name));
      const [lr, lg, lb] = pixel(image, 4, 16);
      const [rr, rg, rb] = pixel(image, 60, 16);
      expect({ name, leftRed: lr > lg + 150 && lr > lb + 150, rightBlue: rb > rr + 60 && rb > rg + 60 }).toEqual({ name, leftRed: true, rightBlue: true });
    }
  });

  it('gives grayscale images three equal channels', async () => {
    const image = await decodeImage(path.join(dir, 'grayscale.png'));
    const [r, g, b] = pixel(image, 4, 16);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });
});
