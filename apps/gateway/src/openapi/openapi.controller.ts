import { Controller, Get, Inject } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { extOrdersOpenApi, seamlessOpenApi } from './openapi.documents';

/** Serves the dialects' OpenAPI documents (the same as docs/api/*.openapi.json). */
@Controller('openapi')
export class OpenApiController {
  private readonly extOrders: Record<string, unknown>;
  private readonly seamless: Record<string, unknown>;

  /** Served with the running gateway's currencies; the checked-in copies list the defaults. */
  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.extOrders = extOrdersOpenApi(config.currencies);
    this.seamless = seamlessOpenApi(config.currencies);
  }

  @Get('ext-orders.json')
  extOrdersDocument(): Record<string, unknown> {
    return this.extOrders;
  }

  @Get('seamless-wallet.json')
  seamlessDocument(): Record<string, unknown> {
    return this.seamless;
  }
}
