import sharp from 'sharp';
import { mirrorImage } from './mirror';

describe('mirrorImage', () => {
  it("is sharp's flop() of the same pixels, and mirroring twice gives the image back", async () => {
    const width = 7;
    const height = 5;
    const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256);
    const flopped = await sharp(data, { raw: { width, height, channels: 3 } }).flop().raw().toBuffer();

    const mirrored = mirrorImage({ data, width, height });

    expect(mirrored.width).toBe(width);
    expect(mirrored.height).toBe(height);
    expect(Buffer.from(mirrored.data).equals(flopped)).toBe(true);
    expect(mirrorImage(mirrored).data).toEqual(data);
  });

  it('refuses pixels that are not width x height x 3 bytes', () => {
    expect(() => mirrorImage({ data: new Uint8Array(10), width: 2, height: 2 })).toThrow('expected 2x2x3 bytes of RGB pixels, got 10');
  });
});
