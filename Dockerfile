# One image for every role (api, worker, scheduler); ROLES picks which run in a container.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY services ./services
COPY templates ./templates
COPY migrations ./migrations
COPY seeds ./seeds
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# A heap cap keeps each process's memory flat however long the run (see test/support/process.ts).
ENV HOST=0.0.0.0 PORT=3000 NODE_OPTIONS=--max-old-space-size=512
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/paperboy.mjs", "start"]
