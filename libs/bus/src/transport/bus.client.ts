import { ClientProxy, ReadPacket, WritePacket } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { contractNamed, MessageContract, MessageOf, ReplyOf, RequestContract } from '@featx/contracts';
import { BusConnection } from '../connection';
import { publish, PublishOptions, PublishResult } from '../publisher';
import { request, RequestOptions } from './request-reply';

/** What `emit`/`send` carry: the message with its contract and per-message options (msg id, address). */
export class BusRecord<C extends MessageContract = MessageContract> {
  constructor(
    readonly contract: C,
    readonly message: MessageOf<C>,
    readonly options: PublishOptions & RequestOptions = {},
  ) {}
}

/**
 * The JetStream transport's `ClientProxy`: `emit(pattern, data)` publishes to the contract's
 * stream (validated, size-checked, deduplicated by msg id) and completes once JetStream has
 * stored it; `send(pattern, data)` is a request whose reply is validated. `dispatch` and
 * `request` are their typed forms, which services use. The connection belongs to the service
 * (CoreModule closes it at shutdown), so `close()` leaves it open.
 */
export class BusClient extends ClientProxy {
  constructor(private readonly bus: BusConnection) {
    super();
  }

  /** Publishes one message; resolves when JetStream stored it (or recognised it as a duplicate). */
  dispatch<C extends MessageContract>(contract: C, message: MessageOf<C>, options: PublishOptions = {}): Promise<PublishResult> {
    return lastValueFrom(this.emit<PublishResult>(contract.name, new BusRecord(contract, message, options)));
  }

  /** Asks the handlers of a request contract and resolves with their validated reply. */
  request<C extends RequestContract>(contract: C, message: MessageOf<C>, options: RequestOptions = {}): Promise<ReplyOf<C>> {
    return lastValueFrom(this.send<ReplyOf<C>>(contract.name, new BusRecord(contract, message, options)));
  }

  /** The server's max_payload: no message or reply may be larger. */
  get maxPayload(): number {
    return this.bus.maxPayload;
  }

  async connect(): Promise<BusConnection> {
    return this.bus;
  }

  close(): void {}

  unwrap<T>(): T {
    return this.bus.nc as T;
  }

  protected dispatchEvent<T = PublishResult>(packet: ReadPacket): Promise<T> {
    const record = toRecord(packet);
    return publish(this.bus, record.contract, record.message, record.options) as Promise<T>;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const record = toRecord(packet);
    request(this.bus, record.contract as RequestContract, record.message, record.options).then(
      (response) => callback({ response, isDisposed: true }),
      (err) => callback({ err, isDisposed: true }),
    );
    // A NATS request cannot be withdrawn; an unsubscribed caller simply ignores the reply.
    return () => undefined;
  }
}

/** `emit(name, message)` from plain Nest code works too: the contract is found by name. */
function toRecord(packet: ReadPacket): BusRecord {
  return packet.data instanceof BusRecord ? packet.data : new BusRecord(contractNamed(packet.pattern as string), packet.data);
}
