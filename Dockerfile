# The bot as a regular install (the wheel `pip install .` makes), run by an unprivileged user.
#   docker build -t ita-duty-bot .
#   docker run --rm --env-file .env -v ita-data:/app/data ita-duty-bot org init --name "อบต.ตัวอย่าง"
#   docker run -d --env-file .env -v ita-data:/app/data ita-duty-bot
# The embedded SQLite database lives on the /app/data volume; set DATABASE_URL for PostgreSQL
# (docker-compose.yml).  The build context is whitelisted by .dockerignore: no local
# database, .env or virtualenv ever gets into the image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY data ./data
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PTB_TIMEDELTA=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --home-dir /app --uid 10001 --user-group bot \
    && mkdir /app/data \
    && chown bot:bot /app/data
WORKDIR /app
USER 10001:10001
VOLUME ["/app/data"]
# exit 1 when the database, Telegram, the outbox or a periodic job is unwell
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD ["ita-duty-bot", "health", "--wait", "10"]
ENTRYPOINT ["ita-duty-bot"]
CMD ["run"]
