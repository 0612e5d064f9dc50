# One image for every featx service; compose picks the service with `command`.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# onnxruntime-node's CPU engine ships in the package; its install script would download the CUDA
# providers (npm 10 ignores package.json's allowScripts). A GPU image builds with
# --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 (README, "Engines").
ARG ONNXRUNTIME_NODE_INSTALL=skip
RUN ONNXRUNTIME_NODE_INSTALL=$ONNXRUNTIME_NODE_INSTALL npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
COPY migrations ./migrations
COPY bin ./bin
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "-r", "./tools/register.js", "apps/api/src/main.ts"]
