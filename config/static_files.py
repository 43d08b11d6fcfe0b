"""Static files in production: WhiteNoise serves what ``collectstatic`` wrote, under hashed and
compressed names; until it has run, the pages link the source files instead of failing."""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class CollectedOrSourceStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage (hashed names, gzip/brotli copies, served with a year's cache). Without
    a manifest, Django's storage refuses every ``{% static %}`` (each page a 500); this one links
    the plain names, which WhiteNoise then serves from the source folders (settings turn its
    finders on in that case), and logs once that ``collectstatic`` should run."""

    _warned = False

    def stored_name(self, name: str) -> str:
        if not self.hashed_files and not self.manifest_hash:  # no manifest was loaded
            if not CollectedOrSourceStaticFilesStorage._warned:
                CollectedOrSourceStaticFilesStorage._warned = True
                logger.warning("Static files are not collected (no %s in %s): serving them from their source "
                               "folders, uncompressed and briefly cached. Run `manage.py collectstatic` when "
                               "deploying.", self.manifest_name, self.location)
            return name
        return super().stored_name(name)
