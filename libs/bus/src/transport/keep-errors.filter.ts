import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns every unknown error into "Internal server error", which would
 * erase what the transport acts on (PermanentError: terminate; anything else: retry) and the
 * reason it records. This filter hands the handler's own error to the transport unchanged.
 */
@Catch()
export class KeepHandlerErrors implements RpcExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
