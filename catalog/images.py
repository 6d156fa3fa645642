"""Product images: checking an upload is a picture, storing it through the default storage,
and the thumbnails the pages show (easy-thumbnails, sizes in settings.THUMBNAIL_ALIASES).

Thumbnails are made once, when an image is saved (admin, import, demo seed), each at 1x and
2x, and their storage names and pixel sizes are kept on the image row (`thumbnails`). A
page then renders `<img srcset width height>` from the prefetched rows alone: no storage
call and no query per picture. A row without a size (an alias added later, an image saved
by other code) gets it made on first use, once, and recorded.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from easy_thumbnails.alias import aliases
from easy_thumbnails.exceptions import EasyThumbnailsError
from easy_thumbnails.files import get_thumbnailer
from PIL import Image, UnidentifiedImageError

from catalog.models import Product, ProductImage, product_image_path

logger = logging.getLogger(__name__)

ALIAS_TARGET = "catalog.ProductImage.image"
DENSITIES = (1, 2)
# Formats a browser shows; Pillow opens more (TIFF, BMP, ...) that pages could not use.
WEB_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


@dataclass(frozen=True)
class Thumbnail:
    url: str
    width: int
    height: int


class NotAnImage(ValueError):
    """The file is not a picture a browser can show (the message says why, for staff);
    image_format is set when it is a picture of another kind (TIFF, BMP, ...)."""

    def __init__(self, message: str, image_format: str = "") -> None:
        super().__init__(message)
        self.image_format = image_format


def check_image(file: Any) -> tuple[str, tuple[int, int]]:
    """The image format ("JPEG", "PNG", ...) and pixel size of an open file or a path, or
    NotAnImage. Pillow reads the header and verifies the data, so a renamed text file or a
    truncated picture is refused before anything is stored."""
    try:
        with Image.open(file) as picture:
            image_format, size = picture.format or "", picture.size
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImage("is not an image (JPEG, PNG, GIF or WebP) or is damaged") from exc
    finally:
        if hasattr(file, "seek"):
            file.seek(0)
    if image_format not in WEB_FORMATS:
        raise NotAnImage(f"is a {image_format or 'unknown'} image; use JPEG, PNG, GIF or WebP", image_format or "unknown")
    return image_format, size


def alias_names() -> list[str]:
    return list(settings.THUMBNAIL_ALIASES.get(ALIAS_TARGET, {}))


def _options(alias: str, density: int) -> dict[str, Any]:
    options = dict(aliases.get(alias, target=ALIAS_TARGET) or {})
    if not options:
        raise KeyError(f"No thumbnail size {alias!r} in THUMBNAIL_ALIASES[{ALIAS_TARGET!r}].")
    width, height = options["size"]
    options["size"] = (width * density, height * density)
    return options


def _key(alias: str, density: int) -> str:
    return alias if density == 1 else f"{alias}@{density}x"


def make_thumbnails(image: ProductImage, only_missing: bool = False) -> list[str]:
    """Make every size of every alias for the image and record them on its row; returns
    the storage names written. only_missing: keep sizes already recorded for this file."""
    recorded = dict(image.thumbnails or {}) if only_missing and (image.thumbnails or {}).get("source") == image.image.name else {}
    thumbnailer = get_thumbnailer(image.image)
    written: list[str] = []
    for alias in alias_names():
        for density in DENSITIES:
            key = _key(alias, density)
            if key in recorded:
                continue
            # Made and stored here rather than through easy-thumbnails' own cache tables:
            # the row records them, which saves a few queries per size.
            thumb = thumbnailer.generate_thumbnail(_options(alias, density))
            storage = thumbnailer.thumbnail_storage
            if storage.exists(thumb.name):  # made before from this very file: replace it
                storage.delete(thumb.name)
            name = storage.save(thumb.name, thumb)
            width, height = thumb.image.size  # the new picture is in memory: no read back
            recorded[key] = [name, width, height]
            written.append(name)
    recorded["source"] = image.image.name
    image.thumbnails = recorded
    if not image.width or not image.height:
        image.width, image.height = image.image.width, image.image.height
    # The pixel size is written too: a row saved without it (by other code) would have
    # Django open the file on every load to fill it in.
    ProductImage.objects.filter(pk=image.pk).update(thumbnails=recorded, width=image.width, height=image.height)
    return written


def thumbnail(image: ProductImage, alias: str, density: int = 1) -> Thumbnail:
    """One recorded size of the image (made now, once, if it was never made)."""
    key = _key(alias, density)
    thumbnails = image.thumbnails or {}
    if key not in thumbnails or thumbnails.get("source") != image.image.name:
        try:
            make_thumbnails(image, only_missing=True)
        except (OSError, EasyThumbnailsError) as exc:
            # A lost or broken file must not break the page: the box keeps its size.
            logger.warning("No thumbnail of product image %s (%s): %s", image.pk, image.image.name, exc)
            width, height = _options(alias, density)["size"]
            return Thumbnail(url=image.image.storage.url(image.image.name), width=width // density, height=height // density)
        thumbnails = image.thumbnails
    name, width, height = thumbnails[key]
    return Thumbnail(url=image.image.storage.url(name), width=width, height=height)


def add_image(
    *,
    product: Product,
    file: File,
    name: str,
    alt: str = "",
    variant_id: int | None = None,
    position: int = 0,
) -> tuple[ProductImage, list[str]]:
    """Store a checked picture for the product and make its thumbnails. Returns the row and
    every storage name written (the caller deletes them if its transaction fails)."""
    _format, (width, height) = check_image(file)
    image = ProductImage(product=product, variant_id=variant_id, alt=alt, position=position)
    image.image.save(name, file, save=False)
    # Stored on the row: with them missing, Django would open the file on every load.
    image.width, image.height = width, height
    written = [image.image.name]
    image.save()
    written += make_thumbnails(image)
    return image, written


def content_name(path: Path) -> str:
    """A storage name for an imported file that changes with its content: importing the
    same picture again finds it instead of storing a copy."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{digest}-{path.name}"


def delete_files(names: list[str]) -> None:
    """Remove stored files (of an import that was rolled back, of a deleted image)."""
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)


def stored_names(image: ProductImage) -> list[str]:
    """The image file and its thumbnails, as stored."""
    names = [image.image.name] if image.image else []
    names += [entry[0] for key, entry in (image.thumbnails or {}).items() if key != "source"]
    return names


# The size the API gives (docs/api.md): the product page's picture at 2x, at most
# 1120 x 1400 pixels, always in a format browsers show.
API_ALIAS, API_DENSITY = "detail", 2


def absolute_url(url: str) -> str:
    """Storage URLs of local files are paths; the API gives whole URLs (SITE_URL's host)."""
    return url if "://" in url or url.startswith("//") else urljoin(settings.SITE_URL.rstrip("/") + "/", url.lstrip("/"))


def images_json(product: Product) -> list[dict[str, Any]]:
    """The product's pictures in order, for the API (prefetched by catalog.selectors)."""
    skus = {variant.pk: variant.sku for variant in getattr(product, "active_variants", [])}
    pictures = []
    for image in product.images.all():
        rendition = thumbnail(image, API_ALIAS, API_DENSITY)
        pictures.append({
            "url": absolute_url(rendition.url),
            "alt": image.alt_text,
            "width": rendition.width,
            "height": rendition.height,
            "variant": skus.get(image.variant_id),
        })
    return pictures


def upload_folder(product: Product) -> str:
    """Where a product's uploads are stored (ProductImage.image's upload_to)."""
    return product_image_path(ProductImage(product=product), "")
