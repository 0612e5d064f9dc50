import { promises as fs } from 'node:fs';
import path from 'node:path';
import { csvLine, shardToCsv } from './csv-export';
import { ShardReader } from './shard-reader';
import { ShardWriter } from './shard-writer';
import { collect, makeTempDir, removeDir, sha256Of } from './testing/fixtures';
import { itWithNumpy, runPython } from './testing/numpy';
import { makeRows } from './testing/shard-rows';

describe('shardToCsv', () => {
  let root: string;
  let n = 0;
  beforeAll(async () => {
    root = await makeTempDir();
  });
  afterAll(() => removeDir(root));

  async function shardWith(rows: Parameters<ShardWriter['append']>[0], dim: number, dtype: 'float16' | 'float32' = 'float32') {
    const dir = path.join(root, `shard-${n++}`);
    const writer = await ShardWriter.open(dir, { dim, dtype });
    await writer.append(rows);
    await writer.close();
    return ShardReader.open(dir);
  }

  it('writes one `label,v1,...,vD` line per row, the label being the class index', async () => {
    const reader = await shardWith(
      { features: Float32Array.of(0.1, 0, 2.5, -1, 1e-7, 3), labels: [1, 0], imageIds: [10, 11] },
      3,
    );
    expect((await collect(shardToCsv(reader))).join('')).toBe('1,0.1,0,2.5\n0,-1,1e-7,3\n');
    await reader.close();
  });

  it('formats float16 shards by their widened values', async () => {
    const reader = await shardWith({ features: Float32Array.of(0.1, 65504), labels: [2], imageIds: [1] }, 2, 'float16');
    expect((await collect(shardToCsv(reader))).join('')).toBe('2,0.099975586,65504\n');
    await reader.close();
  });

  it('yields whole lines in chunks of about the size asked, over a range of rows', async () => {
    const rows = makeRows(50, 4, 9);
    const reader = await shardWith(rows, 4);
    const lines = Array.from({ length: 50 }, (_, i) => csvLine(rows.labels[i]!, rows.features.subarray(i * 4, (i + 1) * 4)));
    const chunks = await collect(shardToCsv(reader, { batchRows: 7, chunkChars: 200 }));
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(chunk.endsWith('\n')).toBe(true);
      expect(chunk.length).toBeLessThan(200 + Math.max(...lines.map((line) => line.length)));
    }
    expect(chunks.join('')).toBe(lines.join(''));
    expect((await collect(shardToCsv(reader, { start: 10, end: 13 }))).join('')).toBe(lines.slice(10, 13).join(''));
    await reader.close();
  });

  itWithNumpy('is read by the tutorial\'s parsing into the same float32 values and labels', async () => {
    const rows = makeRows(30, 16, 12);
    const reader = await shardWith(rows, 16);
    const file = path.join(root, 'features.csv');
    await fs.writeFile(file, (await collect(shardToCsv(reader))).join(''));
    await reader.close();
    // As the tutorial's csv_feature_generator parses each line.
    const parsed = runPython<{ labels: number[]; sha256: string }>(
      `import sys, json, hashlib, numpy as np
labels, data = [], []
for row in open(sys.argv[1]):
    row = row.strip().split(",")
    labels.append(int(row[0]))
    data.append(np.array(row[1:], dtype="float"))
print(json.dumps({'labels': labels, 'sha256': hashlib.sha256(np.array(data).astype(np.float32).tobytes()).hexdigest()}))`,
      [file],
    );
    expect(parsed).toEqual({ labels: Array.from(rows.labels), sha256: sha256Of(rows.features) });
  });
});
