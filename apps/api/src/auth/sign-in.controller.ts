import { Body, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '@featx/runtime';
import { AdminController } from '../common/admin-controller.decorator';
import { openApiSchema, ZodBodyPipe } from '../common/zod-body.pipe';
import { SIGN_IN_CODE_TTL_MS, SignInCodesService } from './sign-in-codes.service';

const signInSchema = z.object({ code: z.string().min(1).max(100) }).strict();

@AdminController('auth', 'auth')
export class SignInController {
  constructor(private readonly codes: SignInCodesService) {}

  @Post('sign-in-codes')
  @HttpCode(201)
  @ApiOperation({ summary: `A single-use sign-in link for the web console, valid ${SIGN_IN_CODE_TTL_MS / 60000} minutes: open {path} on the API's address` })
  @ApiResponse({ status: 201, description: '{code, expiresAt, path}; path is /#/sign-in/<code>' })
  @ApiResponse({ status: 409, description: 'Authentication is disabled' })
  issue() {
    const issued = this.codes.issue();
    return { ...issued, path: `/#/sign-in/${issued.code}` };
  }

  @Post('sign-in')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a sign-in code for the API token, once (what the console does with a sign-in link)' })
  @ApiBody({ schema: openApiSchema(signInSchema) })
  @ApiResponse({ status: 200, description: '{token}' })
  @ApiResponse({ status: 401, description: 'The code was used already, expired, or never issued by this API' })
  signIn(@Body(new ZodBodyPipe(signInSchema)) body: z.infer<typeof signInSchema>) {
    return { token: this.codes.redeem(body.code) };
  }
}
