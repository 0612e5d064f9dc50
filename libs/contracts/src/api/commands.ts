import type { MessageOf } from '../contract';
import type { CommandStatus, messageRejectedEvent } from '../messages/events';

/** What POST /datasets and POST /feature-sets return: the command, recorded and published. */
export interface QueuedCommand {
  commandId: string;
  type: string;
  status: 'queued';
}

/** What GET /commands/:id returns: a command and what became of it (the row of the commands table). */
export interface CommandState {
  /** The command's id (a UUID), or `<stream>:<seq>` for a command sent without one. */
  id: string;
  type: string;
  payload: Record<string, unknown>;
  status: CommandStatus;
  /** What the handler returned once it succeeded; its shape depends on the command's type. */
  result: Record<string, unknown> | null;
  /** Why it failed or was rejected. */
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * What GET /rejected-messages lists: a bus message a consumer will never process and why (the
 * event's fields, with the row's id, kind, delivery count, time and the first 4 KiB of the message).
 */
export type RejectedMessageView = Omit<MessageOf<typeof messageRejectedEvent>, 'v'> & {
  id: number;
  kind: 'decode' | 'validation' | 'permanent' | 'max-deliveries' | 'unknown-subject';
  deliveryCount: number;
  createdAt: string;
  payloadBase64: string;
};
