import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hashFile, type HashAlgorithm } from './file-hash';
import { tempDirHooks } from './testing/temp-dir';

describe('hashFile', () => {
  const temp = tempDirHooks('featx-hash-');
  let dir: string;
  beforeEach(() => {
    dir = temp.dir();
  });

  it.each<HashAlgorithm>(['sha256', 'md5'])('hashes a file larger than one read chunk as node:crypto hashes its bytes (%s)', async (algorithm) => {
    // Streams read 64 KiB at a time: this file takes many reads and ends mid-chunk.
    const file = path.join(dir, `big-${algorithm}.bin`);
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await fs.writeFile(file, bytes);
    await expect(hashFile(file, algorithm)).resolves.toBe(createHash(algorithm).update(bytes).digest('hex'));
  });

  it('hashes an empty file', async () => {
    const file = path.join(dir, 'empty.bin');
    await fs.writeFile(file, '');
    await expect(hashFile(file, 'sha256')).resolves.toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await expect(hashFile(file, 'md5')).resolves.toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('rejects a missing file, and an algorithm it does not offer', async () => {
    await expect(hashFile(path.join(dir, 'nope.bin'), 'sha256')).rejects.toMatchObject({ code: 'ENOENT' });
    const file = path.join(dir, 'hello.txt');
    await fs.writeFile(file, 'hello');
    await expect(hashFile(file, 'sha1' as HashAlgorithm)).rejects.toThrow('hash algorithm must be one of sha256, md5, got "sha1"');
  });
});
