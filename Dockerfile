# syntax=docker/dockerfile:1
# One image for the three services (gateway, ledger, settlement); docker-compose.yml
# picks the service with `command: ["node", "dist/apps/<name>/main.js"]`.

# ---- build: all dependencies, compile apps/ and libs/ to dist/ -------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lockfile lacks platform builds (e.g.
# @swc/core-darwin-arm64) that some registries do not carry, which `npm ci`
# reports as "lock file out of sync"; `npm install` uses the lockfile as is.
RUN npm install
COPY . .
RUN npm run build
# Drop devDependencies (nx, swc, jest, typescript, eslint) before copying node_modules on.
RUN npm prune --omit=dev

# ---- runtime: production dependencies + dist/ only ----------------------------
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    HOST=0.0.0.0
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 3001 3002
CMD ["node", "dist/apps/gateway/main.js"]
