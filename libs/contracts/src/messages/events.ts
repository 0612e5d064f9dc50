import { z } from 'zod';
import { MessageContract } from '../contract';

export const COMMAND_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'rejected'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const commandFinishedEvent = {
  name: 'commands.finished',
  subject: (n) => n.subjects.commandFinished,
  versions: [1],
  schema: z.object({
    v: z.literal(1),
    commandId: z.string(),
    type: z.string(),
    status: z.enum(COMMAND_STATUSES),
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
  }),
} satisfies MessageContract;

export const datasetRegisteredEvent = {
  name: 'datasets.registered',
  subject: (n) => n.subjects.datasetRegistered,
  versions: [1],
  schema: z.object({
    v: z.literal(1),
    datasetId: z.string().uuid(),
    images: z.number().int(),
    added: z.number().int(),
    changed: z.number().int(),
    removed: z.number().int(),
  }),
} satisfies MessageContract;

export const messageRejectedEvent = {
  name: 'messages.rejected',
  subject: (n) => n.subjects.messageRejected,
  versions: [1],
  schema: z.object({
    v: z.literal(1),
    stream: z.string(),
    consumer: z.string(),
    subject: z.string(),
    streamSequence: z.number().int(),
    reason: z.string(),
  }),
} satisfies MessageContract;
