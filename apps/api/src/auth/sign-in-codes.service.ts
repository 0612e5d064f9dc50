import { createHash, randomBytes } from 'node:crypto';
import { ConflictException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { ApiTokenService } from './api-token.service';

/** How long a sign-in code may wait to be used. */
export const SIGN_IN_CODE_TTL_MS = 10 * 60 * 1000;
/** Codes waiting at once; more is a client gone wrong, not a person signing in. */
const MAX_PENDING_CODES = 1000;

export interface IssuedSignInCode {
  code: string;
  expiresAt: string;
}

/**
 * Single-use sign-in codes: a link to the console (`/#/sign-in/<code>`) that carries no token. A
 * holder of the token asks for a code; the console trades it once for the token (the fragment
 * never reaches a server or its logs, and the console removes it from the address bar). Codes
 * live in this API process's memory, as hashes: a restart or another replica does not know them.
 */
@Injectable()
export class SignInCodesService {
  /** sha256 of each pending code → when it expires (ms). */
  private readonly pending = new Map<string, number>();

  constructor(private readonly tokens: ApiTokenService) {}

  issue(now = Date.now()): IssuedSignInCode {
    if (this.tokens.authDisabled) throw new ConflictException('API authentication is disabled (FEATX_AUTH_DISABLED=true): the console needs no sign-in');
    for (const [key, expiresAt] of this.pending) if (expiresAt <= now) this.pending.delete(key);
    if (this.pending.size >= MAX_PENDING_CODES) throw new HttpException(`${MAX_PENDING_CODES} sign-in codes are waiting to be used: wait for some to expire`, HttpStatus.TOO_MANY_REQUESTS);
    const code = randomBytes(18).toString('base64url');
    const expiresAt = now + SIGN_IN_CODE_TTL_MS;
    this.pending.set(digest(code), expiresAt);
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The API token for a pending code, which is used up; a used, unknown or expired code is a 401 saying which. */
  redeem(code: string, now = Date.now()): string {
    const key = digest(code);
    const expiresAt = this.pending.get(key);
    this.pending.delete(key);
    if (expiresAt === undefined) throw new UnauthorizedException('this sign-in link was used already, or this API did not issue it (it may have restarted): ask for a new link, or sign in with the API token');
    if (expiresAt <= now) throw new UnauthorizedException(`this sign-in link has expired (links last ${SIGN_IN_CODE_TTL_MS / 60000} minutes): ask for a new one, or sign in with the API token`);
    return this.tokens.current();
  }
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}
