import { z } from 'zod';
import { messageV1 } from '../contract';

export const COMMAND_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'rejected'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const commandFinishedEvent = messageV1('commands.finished', (n) => n.subjects.commandFinished, {
  commandId: z.string(),
  type: z.string(),
  status: z.enum(COMMAND_STATUSES),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});

export const datasetRegisteredEvent = messageV1('datasets.registered', (n) => n.subjects.datasetRegistered, {
  datasetId: z.string().uuid(),
  images: z.number().int(),
  added: z.number().int(),
  changed: z.number().int(),
  removed: z.number().int(),
});

export const messageRejectedEvent = messageV1('messages.rejected', (n) => n.subjects.messageRejected, {
  stream: z.string(),
  consumer: z.string(),
  subject: z.string(),
  streamSequence: z.number().int(),
  reason: z.string(),
});
