import { MessageContract } from './contract';
import { BusNames } from './names';
import { registerDatasetCommand } from './messages/datasets';
import { commandFinishedEvent, datasetRegisteredEvent, messageRejectedEvent } from './messages/events';
import { extractFeaturesCommand, extractWorkItem, featureBatch, featureSetProgressEvent } from './messages/features';
import { cancelRunCommand, createRunCommand, epochFinishedEvent, readShardRequest, runStatusEvent } from './messages/runs';

/** Every command some featx service handles: anything else on `<ns>.cmd.>` is an unknown command. */
export const COMMAND_CONTRACTS: readonly MessageContract[] = [registerDatasetCommand, extractFeaturesCommand, createRunCommand, cancelRunCommand];

/**
 * Every message kind featx sends, by the name handlers are declared with
 * (`@EventPattern(extractWorkItem.name, ...)`): the transport finds subjects and schemas here.
 */
export const MESSAGE_CONTRACTS: readonly MessageContract[] = [
  ...COMMAND_CONTRACTS,
  extractWorkItem,
  featureBatch,
  readShardRequest,
  commandFinishedEvent,
  datasetRegisteredEvent,
  messageRejectedEvent,
  featureSetProgressEvent,
  epochFinishedEvent,
  runStatusEvent,
];

const byName = new Map(MESSAGE_CONTRACTS.map((contract) => [contract.name, contract]));

/** The contract declared under `name`; a handler or emit naming an unknown kind is a programming error. */
export function contractNamed(name: string): MessageContract {
  const contract = byName.get(name);
  if (!contract) throw new Error(`no message contract is named "${name}" (known: ${[...byName.keys()].join(', ')})`);
  return contract;
}

/** The command subjects some featx service consumes. */
export function knownCommandSubjects(names: BusNames): Set<string> {
  return new Set(COMMAND_CONTRACTS.map((contract) => contract.subject(names)));
}
