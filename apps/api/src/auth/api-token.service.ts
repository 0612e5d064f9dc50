import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';

export const GENERATED_TOKEN_FILE = 'api-token';

/**
 * The bearer token the API requires: FEATX_API_TOKEN, else the file FEATX_API_TOKEN_FILE, else one
 * generated at first start into the state folder (shown once in the log, readable by the CLI).
 */
@Injectable()
export class ApiTokenService implements OnModuleInit {
  private token?: Buffer;

  constructor(
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  get authDisabled(): boolean {
    return this.config.api.authDisabled;
  }

  async onModuleInit(): Promise<void> {
    if (this.authDisabled) {
      this.logger.warn('API authentication is DISABLED (FEATX_AUTH_DISABLED=true): anyone who reaches the port can use it');
      return;
    }
    this.token = Buffer.from(await this.resolveToken());
  }

  /** The token itself, for a holder of a sign-in code (SignInCodesService). */
  current(): string {
    if (!this.token) throw new Error('the API token is not loaded (authentication disabled, or the module is not initialized)');
    return this.token.toString();
  }

  matches(candidate: string): boolean {
    if (!this.token) return false;
    const given = Buffer.from(candidate);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async resolveToken(): Promise<string> {
    const { token, tokenFile } = this.config.api;
    if (token) return token;
    if (tokenFile) {
      const fromFile = (await fs.readFile(tokenFile, 'utf8')).trim();
      if (fromFile.length < 16) throw new Error(`API token file ${tokenFile} must hold a token of at least 16 characters`);
      return fromFile;
    }
    const generatedPath = path.join(this.config.stateDir, GENERATED_TOKEN_FILE);
    try {
      return (await fs.readFile(generatedPath, 'utf8')).trim();
    } catch {
      const generated = randomBytes(24).toString('base64url');
      await fs.mkdir(this.config.stateDir, { recursive: true });
      await fs.writeFile(generatedPath, `${generated}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      const stored = (await fs.readFile(generatedPath, 'utf8')).trim();
      if (stored === generated) {
        this.logger.warn(`generated an API token (shown once): ${generated}; stored in ${generatedPath} for the featx CLI`);
      }
      return stored;
    }
  }
}
