import * as contracts from '@featx/contracts';
import * as options from './options';

describe("the console's form choices", () => {
  it('are those the API accepts', () => {
    expect([...options.DATASET_LAYOUTS].sort()).toEqual([...contracts.DATASET_LAYOUTS].sort());
    expect([...options.POOLINGS].sort()).toEqual([...contracts.POOLINGS].sort());
    expect([...options.FEATURE_DTYPES].sort()).toEqual([...contracts.FEATURE_DTYPES].sort());
    expect([...options.ENGINES].sort()).toEqual([...contracts.ENGINES].sort());
    expect([...options.HEADS].sort()).toEqual([...contracts.HEAD_CHOICES].sort());
    expect([...options.PRECISIONS].sort()).toEqual([...contracts.PRECISIONS].sort());
  });
});
