import { busNames } from '@featx/contracts';
import { artifactBucket, artifactObjectName, artifactsInFolder, artifactStreamName } from './artifact-store';

describe('artifact names', () => {
  it('puts every object of a run under its id, in the namespace bucket', () => {
    expect(artifactBucket(busNames('featx'))).toBe('featx-artifacts');
    expect(artifactStreamName(busNames('t-1'))).toBe('OBJ_t-1-artifacts');
    expect(artifactObjectName('0b0e5a7c-1d2e-4f00-8a9b-c0d1e2f3a4b5', 'model/model.json')).toBe('0b0e5a7c-1d2e-4f00-8a9b-c0d1e2f3a4b5/model/model.json');
  });

  it.each(['../x', 'model/../../etc/passwd', '/abs', 'model//x', '', 'a b', 'model/.'])('refuses the name %j, naming it', (name) => {
    expect(() => artifactObjectName('run-1', name)).toThrow(`artifact name "${name}" is invalid`);
  });

  it('refuses a run id that is not one path part', () => {
    expect(() => artifactObjectName('a/b', 'x')).toThrow('artifact run id "a/b" is invalid');
    expect(() => artifactObjectName('..', 'x')).toThrow('artifact run id ".." is invalid');
  });

  it('takes a folder out of recorded names, relative to it', () => {
    const records = [
      { name: 'curves.svg', bytes: 1, digest: 'a' },
      { name: 'model/model.json', bytes: 2, digest: 'b' },
      { name: 'model/weights.bin', bytes: 3, digest: 'c' },
      { name: 'modelx/other', bytes: 4, digest: 'd' },
    ];
    expect(artifactsInFolder(records, 'model')).toEqual([
      { name: 'model.json', bytes: 2, digest: 'b' },
      { name: 'weights.bin', bytes: 3, digest: 'c' },
    ]);
  });
});
