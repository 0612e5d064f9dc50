import { applyDecorators, MessageEvent, Sse } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse } from '@nestjs/swagger';
import { map, Observable } from 'rxjs';
import { AdminController } from '../common/admin-controller.decorator';
import { UuidParam } from '../common/uuid-param.pipe';
import { BusEventsService, LiveEvent } from './bus-events.service';

/** A text/event-stream route and its docs. */
function LiveEventsEndpoint(path: string, summary: string): MethodDecorator {
  return applyDecorators(Sse(path), ApiOperation({ summary }), ApiProduces('text/event-stream'), ApiResponse({ status: 200, description: 'The event stream, open until the client leaves' }));
}

const toMessageEvent = (event: LiveEvent): MessageEvent => ({ type: event.type, data: event.data });

/**
 * Live bus events as Server-Sent Events (text/event-stream; each event's `event:` is its contract
 * name, its `data:` the message as JSON). Behind the bearer token like every route: browsers read
 * them with fetch, since EventSource cannot send a header (and the token never goes in a URL).
 */
@AdminController('events', 'events')
export class EventsController {
  constructor(private readonly events: BusEventsService) {}

  @LiveEventsEndpoint('runs/:id', 'A run\'s events as they happen: runs.epoch (each finished epoch\'s metrics) and runs.status; GET /runs/{id} has what came before')
  run(@UuidParam() id: string): Observable<MessageEvent> {
    return this.events.run(id).pipe(map(toMessageEvent));
  }

  @LiveEventsEndpoint('commands/:id', 'A command\'s commands.finished event (status, result or error) when it comes; GET /commands/{id} has its state until then')
  command(@UuidParam() id: string): Observable<MessageEvent> {
    return this.events.command(id).pipe(map(toMessageEvent));
  }

  @LiveEventsEndpoint('feature-sets', 'Every feature set\'s features.progress events as they happen (images, stored, failed, status)')
  featureSets(): Observable<MessageEvent> {
    return this.events.featureSets().pipe(map(toMessageEvent));
  }
}
