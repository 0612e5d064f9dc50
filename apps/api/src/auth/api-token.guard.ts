import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '@featx/runtime';
import { ApiTokenService } from './api-token.service';

/** Every route needs `Authorization: Bearer <token>` unless marked @Public() or auth is disabled. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly tokens: ApiTokenService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.tokens.authDisabled) return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization;
    if (!header) throw new UnauthorizedException('missing Authorization header: send "Authorization: Bearer <token>"');
    const [scheme, token] = header.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token) throw new UnauthorizedException('Authorization header must be "Bearer <token>"');
    if (!this.tokens.matches(token)) throw new UnauthorizedException('invalid API token');
    return true;
  }
}
