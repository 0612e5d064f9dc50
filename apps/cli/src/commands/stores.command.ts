import { Command } from 'commander';
import type { FeatureStoreView } from '@featx/contracts';
import { ApiClient } from '../api-client';
import { formatCount, table } from '../format';
import { withoutMillis } from './features.command';

export function storesCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  const stores = new Command('stores').description('the feature stores: which are up, where they run, what they hold');

  stores
    .command('ls')
    .description('list the feature stores with their state (up, down after missed heartbeats, unregistered), host, last seen, shards and rows held')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const rows = await (await client()).get<FeatureStoreView[]>('/feature-stores');
      if (opts.json) return print(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return print('no feature stores yet: start one (npm run start:feature-store)');
      print(
        table(
          ['store', 'state', 'host', 'last seen', 'shards', 'rows', 'version'],
          rows.map((s) => [s.id, s.state, s.host ?? '', s.lastSeenAt ? withoutMillis(s.lastSeenAt) : 'never', s.shards, formatCount(s.rows), s.version ?? '']),
        ),
      );
    });

  return stores;
}
