# cpgraph API image (production backend: Neo4j; see docker-compose.yml).
FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir 'uv>=0.9,<1'
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY cypher ./cypher
COPY loaders ./loaders
RUN uv sync --frozen --no-dev
RUN useradd --system --uid 10001 cpgraph && mkdir -p /app/data && chown cpgraph /app/data
USER cpgraph
ENV PATH="/app/.venv/bin:$PATH" CPGRAPH_HOST=0.0.0.0 CPGRAPH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status==200 else 1)"
CMD ["cpgraph", "serve"]
