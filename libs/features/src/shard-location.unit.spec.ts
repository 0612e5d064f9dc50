import * as path from 'node:path';
import { ShardError } from './errors';
import { shardDir, shardPath } from './shard-location';

describe('shardPath', () => {
  const location = { featureSetId: '7d3f0c1e-0000-4000-8000-000000000001', split: 'training', storeId: 'store-a', index: 3 };

  it('is <set>/<split>/<store>-<n>, n padded to five digits', () => {
    expect(shardPath(location)).toBe('7d3f0c1e-0000-4000-8000-000000000001/training/store-a-00003');
    expect(shardPath({ ...location, index: 123456 })).toBe('7d3f0c1e-0000-4000-8000-000000000001/training/store-a-123456');
  });

  it('refuses parts that are not one folder name, and bad indexes, naming them', () => {
    expect(() => shardPath({ ...location, split: '../x' })).toThrow('split must be one folder name (not empty, no / or \\, not . or ..), got "../x"');
    expect(() => shardPath({ ...location, storeId: '' })).toThrow(/storeId must be one folder name/);
    expect(() => shardPath({ ...location, featureSetId: '..' })).toThrow(/featureSetId must be one folder name/);
    expect(() => shardPath({ ...location, index: -1 })).toThrow('index must be a non-negative integer, got -1');
    expect(() => shardPath({ ...location, index: 1.5 })).toThrow(ShardError);
  });
});

describe('shardDir', () => {
  const root = path.resolve('/srv/featx/features');

  it('resolves a recorded path under the features dir', () => {
    expect(shardDir(root, 'set/training/store-a-00000')).toBe(path.join(root, 'set', 'training', 'store-a-00000'));
    expect(shardDir(`${root}/`, 'set/x/../training/s-00001')).toBe(path.join(root, 'set', 'training', 's-00001'));
  });

  it('refuses paths that leave the features dir, or are the dir itself', () => {
    for (const bad of ['../elsewhere', 'set/../../elsewhere', '/etc', '', '.']) {
      expect(() => shardDir(root, bad)).toThrow(`shard path ${JSON.stringify(bad)} is not a folder inside the features dir`);
    }
  });
});
