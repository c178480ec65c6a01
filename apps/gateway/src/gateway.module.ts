import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AdminController } from './admin/admin.controller';
import { AuthService } from './auth/auth.service';
import { OAuthController } from './auth/oauth.controller';
import { DATA_SOURCE, GATEWAY_CONFIG, dataSourceProvider } from './database/database.providers';
import { CancelOrderController } from './ext-orders/cancel-order/cancel-order.controller';
import { CreateOrderController } from './ext-orders/create-order/create-order.controller';
import { SettleOrdersController } from './ext-orders/settle-orders/settle-orders.controller';
import { QueryOrderController } from './ext-orders/query-order/query-order.controller';
import { gatewayConfigFromEnv } from './gateway.config';
import { HealthController } from './health/health.controller';
import { RateLimiter } from './http/rate-limiter.service';
import { OpenApiController } from './openapi/openapi.controller';
import { LedgerClient } from './ledger-client/ledger.client';
import { LedgerQueryClient } from './ledger-client/ledger-query.client';
import { CloseTradeController } from './seamless/close-trade/close-trade.controller';
import { GetBalanceController } from './seamless/get-balance/get-balance.controller';
import { MintTokenController } from './seamless/mint-token/mint-token.controller';
import { OpenTradeController } from './seamless/open-trade/open-trade.controller';
import { WalletTokenService } from './seamless/wallet-token.service';
import { kafkaProvider } from './messaging.providers';

@Module({
  controllers: [
    HealthController,
    OpenApiController,
    OAuthController,
    AdminController,
    CreateOrderController,
    CancelOrderController,
    SettleOrdersController,
    QueryOrderController,
    MintTokenController,
    GetBalanceController,
    OpenTradeController,
    CloseTradeController,
  ],
  providers: [{ provide: GATEWAY_CONFIG, useFactory: gatewayConfigFromEnv }, dataSourceProvider, kafkaProvider, AuthService, RateLimiter, LedgerClient, LedgerQueryClient, WalletTokenService],
})
export class GatewayModule implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    await this.dataSource.destroy();
  }
}
