# One image for every featx service; compose picks the service with `command`.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
COPY migrations ./migrations
COPY bin ./bin
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "-r", "./tools/register.js", "apps/api/src/main.ts"]
