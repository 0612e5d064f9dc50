import { ConflictException, UnauthorizedException } from '@nestjs/common';
import { standIn } from '@featx/db/testing';
import { ApiTokenService } from './api-token.service';
import { SIGN_IN_CODE_TTL_MS, SignInCodesService } from './sign-in-codes.service';

const TOKEN = 'the-api-token-0123456789';

describe('SignInCodesService', () => {
  const tokens = (authDisabled = false) => standIn<ApiTokenService>({ authDisabled, current: () => TOKEN });

  it('trades a code for the token once; a second use is refused', () => {
    const codes = new SignInCodesService(tokens());
    const { code, expiresAt } = codes.issue(1000);
    expect(code).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(expiresAt).toBe(new Date(1000 + SIGN_IN_CODE_TTL_MS).toISOString());
    expect(codes.redeem(code, 2000)).toBe(TOKEN);
    expect(() => codes.redeem(code, 3000)).toThrow(new UnauthorizedException('this sign-in link was used already, or this API did not issue it (it may have restarted): ask for a new link, or sign in with the API token'));
  });

  it('refuses an expired code, and a code it never issued', () => {
    const codes = new SignInCodesService(tokens());
    const { code } = codes.issue(0);
    expect(() => codes.redeem(code, SIGN_IN_CODE_TTL_MS)).toThrow('this sign-in link has expired (links last 10 minutes): ask for a new one, or sign in with the API token');
    expect(() => codes.redeem('made-up-code', 0)).toThrow(UnauthorizedException);
  });

  it('issues distinct codes, and none while authentication is disabled', () => {
    const codes = new SignInCodesService(tokens());
    expect(new Set(Array.from({ length: 50 }, () => codes.issue().code)).size).toBe(50);
    expect(() => new SignInCodesService(tokens(true)).issue()).toThrow(ConflictException);
  });
});
