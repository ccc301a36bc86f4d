# grantflow's image: the worker (`python worker.py`, the default command), the one-shot
# migration (`grantflow db upgrade`) and, later, the portal. Built by docker-compose.yml.
#
#   docker build -t grantflow .
#
# Debian release pinned (trixie) so the apt package names below stay valid.
FROM python:3.11-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# WeasyPrint's runtime: Pango (which pulls GLib, fontconfig, FreeType), HarfBuzz and its
# subsetter (font subsetting for small PDFs), and a font that covers German.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; /data/documents is where the named volume mounts (a fresh volume
# takes over this directory's owner).
RUN useradd --create-home --uid 10001 --user-group grantflow \
    && mkdir -p /data/documents \
    && chown -R grantflow:grantflow /data

WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer survives code changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (see .dockerignore), installed for the `grantflow` command; the wheel
# carries the templates and migrations as package data.
COPY . .
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

USER grantflow

CMD ["python", "worker.py"]
