/**
 * Thrown by a handler when its message can never succeed (bad reference, impossible request):
 * the consumer terminates the message and records the reason instead of redelivering it.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(
    readonly subject: string,
    readonly bytes: number,
    readonly maxPayload: number,
  ) {
    super(`message for ${subject} is ${bytes} bytes, over the server's max_payload of ${maxPayload} bytes`);
  }
}

/** A message on a subject no featx service handles (a typo, a client newer than the services). */
export class UnknownSubjectError extends Error {
  override readonly name = 'UnknownSubjectError';
}
