import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-write';
import { tempDirHooks } from './testing/temp-dir';

describe('writeFileAtomic', () => {
  const temp = tempDirHooks('featx-atomic-');
  let dir: string;
  beforeEach(() => {
    dir = temp.dir();
  });

  it('creates a file, then replaces its content, leaving no temporary file beside it', async () => {
    const file = path.join(dir, 'manifest.json');
    await writeFileAtomic(file, '{"v":1}');
    expect(await fs.readFile(file, 'utf8')).toBe('{"v":1}');
    await writeFileAtomic(file, 'shorter');
    expect(await fs.readFile(file, 'utf8')).toBe('shorter');
    expect(await fs.readdir(dir)).toEqual(['manifest.json']);
  });

  it('writes bytes of any typed array view, offset included', async () => {
    const file = path.join(dir, 'model.onnx');
    const values = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256);
    await writeFileAtomic(file, values.subarray(5));
    expect(new Uint8Array(await fs.readFile(file))).toEqual(values.subarray(5));
  });

  it('keeps concurrent writers apart: the file ends as one of them, whole', async () => {
    const file = path.join(dir, 'pointer.json');
    const contents = Array.from({ length: 8 }, (_, i) => String(i).repeat(100_000 + i));
    await Promise.all(contents.map((content) => writeFileAtomic(file, content)));
    expect(contents).toContain(await fs.readFile(file, 'utf8'));
    expect(await fs.readdir(dir)).toEqual(['pointer.json']);
  });

  it('leaves what was there, and no temporary file, when the rename fails', async () => {
    const target = path.join(dir, 'taken');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST|EPERM)$/) });
    expect(await fs.readdir(dir)).toEqual(['taken']);
    expect(await fs.readFile(path.join(target, 'inside'), 'utf8')).toBe('kept');
  });

  it('rejects a folder that does not exist, and an empty path', async () => {
    await expect(writeFileAtomic(path.join(dir, 'missing', 'file.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(writeFileAtomic('', 'x')).rejects.toThrow('file must be a non-empty path, got ""');
  });
});
