import { Controller, Get } from '@nestjs/common';
import { ledgerQueriesOpenApi } from './ledger-queries.openapi';

/** Serves the query API's OpenAPI document (the same as docs/api/ledger-queries.openapi.json). */
@Controller('openapi')
export class LedgerOpenApiController {
  private readonly document = ledgerQueriesOpenApi();

  @Get('ledger-queries.json')
  queriesDocument(): Record<string, unknown> {
    return this.document;
  }
}
