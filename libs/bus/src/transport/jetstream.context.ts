import { BaseRpcContext } from '@nestjs/microservices';
import { MessageContext } from '../consumer';

/**
 * What a handler may learn about the message it is handling, through `@Ctx()`: where it came
 * from, how often it was delivered, and `working()` to hold on to it during long work.
 */
export class JetStreamContext extends BaseRpcContext<[MessageContext]> {
  constructor(message: MessageContext) {
    super([message]);
  }

  get message(): MessageContext {
    return this.args[0];
  }

  getSubject(): string {
    return this.message.subject;
  }

  /** 1 on the first delivery; a handler may behave differently on its last try. */
  getDeliveryCount(): number {
    return this.message.deliveryCount;
  }

  /** Tells the server the message is still being worked on (the transport also does so every ackWait/3). */
  working(): void {
    this.message.working();
  }
}
