"""Settings of the API benchmark's gunicorn: the project's own, plus one bare endpoint to compare
with (``bench_urls``). Used only by ``bench/api_scale.py``."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
