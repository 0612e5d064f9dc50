import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashFile } from '@featx/files';
import { WeightsChecksumError, WeightsUnavailableError } from './errors';
import { RESNET50_WEIGHTS, resolveWeightsFile, verifyFileHash, type PublishedWeights } from './weights';

// md5 and sha256 of the ASCII bytes "hello".
const HELLO_MD5 = '5d41402abc4b2a76b9719d911017c592';
const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

describe('weights download cache', () => {
  let dir: string;
  let server: Server;
  let baseUrl: string;
  let requests = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-weights-'));
    // A local HTTP server stands in for storage.googleapis.com: the real download code runs offline.
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/hello.h5') res.end('hello');
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const hello = (overrides: Partial<PublishedWeights> = {}): PublishedWeights => ({
    description: 'test weights',
    fileName: 'hello.h5',
    url: `${baseUrl}/hello.h5`,
    hash: HELLO_MD5,
    hashAlgorithm: 'md5',
    ...overrides,
  });

  it('knows the published ResNet-50 files and their Keras md5s', () => {
    expect(RESNET50_WEIGHTS.notop).toMatchObject({
      url: 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
      hash: '4d473c1dd8becc155b73f8504c6f6626',
      hashAlgorithm: 'md5',
    });
    expect(RESNET50_WEIGHTS.top.hash).toBe('2cb95161c43110f7111970584f804107');
  });

  it('verifies a local file (md5 and sha256)', async () => {
    const file = path.join(dir, 'local.h5');
    writeFileSync(file, 'hello');
    await expect(verifyFileHash(file, { hash: HELLO_SHA256, hashAlgorithm: 'sha256' })).resolves.toBeUndefined();
    await expect(resolveWeightsFile(hello(), { localPath: file })).resolves.toBe(file);
    writeFileSync(file, 'hellO');
    const error = await resolveWeightsFile(hello(), { localPath: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsChecksumError);
    expect((error as Error).message).toMatch(/md5 is [0-9a-f]{32}, expected 5d41402abc4b2a76b9719d911017c592/);
    await expect(resolveWeightsFile(hello(), { localPath: file, verify: false })).resolves.toBe(file);
    await expect(resolveWeightsFile(hello(), { localPath: path.join(dir, 'absent.h5') })).rejects.toThrow(/no file at .*absent\.h5/);
  });

  it('downloads once into the cache, verified, then reuses the cached copy', async () => {
    const cacheDir = path.join(dir, 'cache1');
    requests = 0;
    const first = await resolveWeightsFile(hello(), { cacheDir, searchDirs: [] });
    expect(first).toBe(path.join(cacheDir, 'hello.h5'));
    expect(await hashFile(first, 'md5')).toBe(HELLO_MD5);
    expect(await resolveWeightsFile(hello(), { cacheDir, searchDirs: [] })).toBe(first);
    expect(requests).toBe(1);
  });

  it('keeps nothing when the downloaded bytes have the wrong checksum', async () => {
    const cacheDir = path.join(dir, 'cache2');
    const wrong = hello({ hash: 'ffffffffffffffffffffffffffffffff' });
    await expect(resolveWeightsFile(wrong, { cacheDir, searchDirs: [] })).rejects.toBeInstanceOf(WeightsChecksumError);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('uses a verified copy from another cache (e.g. ~/.keras/models) and ignores a corrupt one', async () => {
    const kerasDir = path.join(dir, 'keras-models');
    mkdirSync(kerasDir);
    writeFileSync(path.join(kerasDir, 'hello.h5'), 'hello');
    const cacheDir = path.join(dir, 'cache3');
    const found = await resolveWeightsFile(hello(), { cacheDir, searchDirs: [kerasDir], download: false });
    expect(found).toBe(path.join(kerasDir, 'hello.h5'));
    writeFileSync(path.join(kerasDir, 'hello.h5'), 'corrupt');
    const logs: string[] = [];
    requests = 0;
    await resolveWeightsFile(hello(), { cacheDir, searchDirs: [kerasDir], log: (l) => logs.push(l) });
    expect(logs.join('\n')).toMatch(/ignoring .*keras-models\/hello\.h5: md5/);
    expect(requests).toBe(1);
  });

  it('offline: fails with a message that says where to put the file', async () => {
    const cacheDir = path.join(dir, 'offline');
    // Real fetch against a port nobody listens on: a genuine network failure.
    const closed = hello({ url: 'http://127.0.0.1:9/hello.h5' });
    const error = await resolveWeightsFile(closed, { cacheDir, searchDirs: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('cannot download test weights from http://127.0.0.1:9/hello.h5');
    expect(message).toContain(`put it at ${path.join(cacheDir, 'hello.h5')}`);
    expect(message).toContain(`md5 ${HELLO_MD5}`);
    expect(message).toContain('weightsPath');

    // The published ResNet-50 file, with a fetch that fails the way it does without DNS.
    const offlineFetch = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
    }) as typeof fetch;
    await expect(resolveWeightsFile(RESNET50_WEIGHTS.notop, { cacheDir, searchDirs: [], fetch: offlineFetch })).rejects.toThrow(
      /fetch failed \(ENOTFOUND\)\. Download https:\/\/storage\.googleapis\.com\/.*_notop\.h5 on a machine with network access and put it at .*offline\/resnet50_weights_tf_dim_ordering_tf_kernels_notop\.h5 \(md5 4d473c1dd8becc155b73f8504c6f6626\)/,
    );
    await expect(resolveWeightsFile(hello(), { cacheDir, searchDirs: [], download: false })).rejects.toThrow(/downloading is disabled/);
    expect(existsSync(path.join(cacheDir, 'hello.h5'))).toBe(false);
  });

  it('reports HTTP errors', async () => {
    await expect(resolveWeightsFile(hello({ url: `${baseUrl}/missing.h5` }), { cacheDir: path.join(dir, 'c404'), searchDirs: [] })).rejects.toThrow(
      /HTTP 404/,
    );
  });
});
