# Rupor in a container: the same code and the same pinned versions as `make setup`
# (requirements.lock), without the development tools. README.md, "Running in containers",
# says how to run it; compose.yaml runs PostgreSQL, Redis, the web process and the workers.
#
#   docker build -t rupor .            (or: podman build -t rupor .)
#
# Two stages: the first builds a virtual environment in /opt/rupor (wheels where there are),
# the second copies it into a slim image that runs as the unprivileged user "rupor".

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/rupor
COPY requirements.lock pyproject.toml README.md ./
COPY rupor ./rupor
# Rupor's runtime dependencies (pyproject.toml), each at the version requirements.lock pins:
# the lock is the constraint, so the image runs what the tests ran, and the test and lint tools
# the lock also pins stay out.
# Behind a proxy that intercepts TLS, mount its CA bundle and name it:
#   --build-arg CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
ARG CA_BUNDLE=""
RUN if [ -n "$CA_BUNDLE" ]; then export PIP_CERT="$CA_BUNDLE"; fi \
    && /opt/rupor/bin/pip install --prefer-binary --constraint requirements.lock . \
    && find /opt/rupor -depth -type d -name __pycache__ -exec rm -rf {} + \
    && /opt/rupor/bin/python -m compileall -q /opt/rupor/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="Rupor" \
      org.opencontainers.image.description="Self-hostable social media management: plan, publish exactly once, engage, measure." \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"
ENV PATH=/opt/rupor/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RUPOR_HOME=/var/lib/rupor \
    RUPOR_HOST=0.0.0.0 \
    RUPOR_PORT=8000
RUN groupadd --system --gid 10001 rupor \
    && useradd --system --uid 10001 --gid rupor --home-dir /var/lib/rupor --shell /usr/sbin/nologin rupor \
    && install -d -o rupor -g rupor -m 0700 /var/lib/rupor
COPY --from=build /opt/rupor /opt/rupor
USER rupor
WORKDIR /var/lib/rupor
# Media, uploads, outgoing mail in files, the generated secret key: one volume for every process.
VOLUME ["/var/lib/rupor"]
EXPOSE 8000
# The web process answers /healthz (200 while the database answers, 503 saying why not).
# A worker overrides this check in compose.yaml (it serves no HTTP).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["rupor"]
CMD ["serve", "--no-worker"]
