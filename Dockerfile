# One image for every production process: the app instances (gunicorn), the one-shot migration
# and the worker; docker-compose.yml picks the command.
FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
    fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# The production static build: hashed names and a manifest (DEBUG off), served by WhiteNoise.
RUN DEBUG=0 SECRET_KEY=collectstatic-only DATABASE_URL= \
    python manage.py collectstatic --no-input -v 0
RUN useradd --system --uid 10001 fieldstock
USER fieldstock
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
