# fastpos node image (Node.js 20).
#   docker build -t fastpos:local .
#   docker run --rm -p 127.0.0.1:26657:26657 fastpos:local          # a single-node devnet
#   docker run --rm fastpos:local --help                             # any CLI command
# A 4-validator testnet: docker-compose.testnet.yml (docs/testnet.md).

# ---------------------------------------------------------------- build
FROM node:20-slim AS build
WORKDIR /app
# Toolchain for better-sqlite3's native addon, used only if no prebuilt binary fits this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script is the build, which needs the sources (copied below);
# better-sqlite3's install script (its native addon) then runs through `npm rebuild`.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# ---------------------------------------------------------------- runtime
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The block explorer's static pages (served at /explorer/, found next to dist/).
COPY explorer ./explorer
# Data folders owned by the unprivileged user; a fresh named volume mounted on one inherits that.
RUN mkdir -p /data /testnet && chown node:node /data /testnet
USER node
EXPOSE 26657
ENTRYPOINT ["node", "dist/cli/main.js"]
# Default: a single-node devnet on the built-in genesis, listening on every interface of the container.
CMD ["start", "--data-dir", "/data", "--host", "0.0.0.0"]
