import { Controller, Get } from '@nestjs/common';
import { extOrdersOpenApi, seamlessOpenApi } from './openapi.documents';

/** Serves the dialects' OpenAPI documents (the same as docs/api/*.openapi.json). */
@Controller('openapi')
export class OpenApiController {
  private readonly extOrders = extOrdersOpenApi();
  private readonly seamless = seamlessOpenApi();

  @Get('ext-orders.json')
  extOrdersDocument(): Record<string, unknown> {
    return this.extOrders;
  }

  @Get('seamless-wallet.json')
  seamlessDocument(): Record<string, unknown> {
    return this.seamless;
  }
}
