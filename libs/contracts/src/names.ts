/**
 * Every stream and subject featx uses, derived from one namespace so that several deployments
 * (or test runs) can share a NATS server without seeing each other's messages.
 *
 * With the default namespace `featx`:
 *
 * | stream         | subjects            | retention  | carries                                   |
 * |----------------|---------------------|------------|-------------------------------------------|
 * | FEATX_CMD      | featx.cmd.>         | limits 7 d | commands (an audit log of every mutation) |
 * | FEATX_WORK     | featx.work.>        | work queue | work items: image refs in small batches   |
 * | FEATX_FEATURES | featx.features.>    | work queue | feature batches, each ≤ max_payload       |
 * | FEATX_EVT      | featx.evt.>         | limits 1 d | progress, results, rejected messages      |
 */
export interface BusNames {
  namespace: string;
  streams: { commands: string; work: string; features: string; events: string };
  subjects: {
    registerDataset: string;
    extractFeatures: string;
    /** Training-run commands (create, cancel), handled by the trainer. */
    runCommands: string;
    createRun: string;
    cancelRun: string;
    /**
     * Core NATS request/reply (not a stream): shard rows served by the feature-store replica
     * that wrote them, addressed by its store id (see addressedSubject).
     */
    readShard: string;
    runEpoch: string;
    runStatus: string;
    extractWork: string;
    featureBatch: string;
    datasetRegistered: string;
    featureSetProgress: string;
    commandFinished: string;
    messageRejected: string;
    /** Wildcards, one per stream. */
    allCommands: string;
    allWork: string;
    allFeatures: string;
    allEvents: string;
  };
}

const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export function busNames(namespace = 'featx'): BusNames {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`bus namespace "${namespace}" is invalid: use 1-32 lowercase letters, digits, '_' or '-', starting with a letter`);
  }
  const ns = namespace;
  const NS = namespace.toUpperCase().replace(/-/g, '_');
  return {
    namespace,
    streams: { commands: `${NS}_CMD`, work: `${NS}_WORK`, features: `${NS}_FEATURES`, events: `${NS}_EVT` },
    subjects: {
      registerDataset: `${ns}.cmd.datasets.register`,
      extractFeatures: `${ns}.cmd.features.extract`,
      runCommands: `${ns}.cmd.runs.>`,
      createRun: `${ns}.cmd.runs.create`,
      cancelRun: `${ns}.cmd.runs.cancel`,
      readShard: `${ns}.rpc.features.read`,
      runEpoch: `${ns}.evt.runs.epoch`,
      runStatus: `${ns}.evt.runs.status`,
      extractWork: `${ns}.work.extract`,
      featureBatch: `${ns}.features.batch`,
      datasetRegistered: `${ns}.evt.datasets.registered`,
      featureSetProgress: `${ns}.evt.features.progress`,
      commandFinished: `${ns}.evt.commands.finished`,
      messageRejected: `${ns}.evt.messages.rejected`,
      allCommands: `${ns}.cmd.>`,
      allWork: `${ns}.work.>`,
      allFeatures: `${ns}.features.>`,
      allEvents: `${ns}.evt.>`,
    },
  };
}

/**
 * A request subject narrowed to the handlers of one address (`<subject>.<address>`): feature-store
 * replicas answer shard reads on their own store id, since shards live on their writer's disk.
 */
export function addressedSubject(subject: string, address: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(address)) throw new Error(`address "${address}" cannot be part of a NATS subject: use letters, digits, '_', '-' or '.'`);
  return `${subject}.${address}`;
}
