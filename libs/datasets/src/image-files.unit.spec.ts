import sharp from 'sharp';
import { IMAGE_FILE_SUFFIXES, imageSuffixOf, isHiddenName, isImageFileName } from './image-files';

describe('image files', () => {
  it('accepts every suffix sharp reads from files, plus .bmp', () => {
    const fromSharp = Object.values(sharp.format).flatMap((info) =>
      info.input.file ? (info.input.fileSuffix ?? []) : [],
    );
    expect(fromSharp.length).toBeGreaterThan(0);
    expect([...IMAGE_FILE_SUFFIXES].sort()).toEqual([...new Set([...fromSharp, '.bmp'])].sort());
    expect(IMAGE_FILE_SUFFIXES).toEqual(expect.arrayContaining(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.bmp']));
  });

  it('matches names case-insensitively, compound suffixes included', () => {
    expect(isImageFileName('cat.jpg')).toBe(true);
    expect(isImageFileName('CAT.JPEG')).toBe(true);
    expect(isImageFileName('scan.Bmp')).toBe(true);
    expect(imageSuffixOf('logo.SVG.GZ')).toBe('.svg.gz');
    expect(imageSuffixOf('photo.tar.jpg')).toBe('.jpg');
  });

  it('refuses other files, bare suffixes and hidden files', () => {
    expect(isImageFileName('notes.txt')).toBe(false);
    expect(isImageFileName('archive.gz')).toBe(false);
    expect(isImageFileName('jpg')).toBe(false);
    expect(isImageFileName('.jpg')).toBe(false);
    expect(isImageFileName('._cat.jpg')).toBe(false);
    expect(isHiddenName('.DS_Store')).toBe(true);
    expect(isHiddenName('cat.jpg')).toBe(false);
  });
});
