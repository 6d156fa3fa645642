"""Product images: thumbnails made once and shown with their sizes (srcset, width, height,
lazy loading), the admin upload (a file that is not a picture is refused), images in the
catalog import (a bad entry changes nothing), the API's "images" and constant query counts."""
from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from catalog import images
from catalog.models import Product, ProductImage
from checkout.imports import import_catalog
from shop.errors import InvalidInput


def picture_bytes(size: tuple[int, int] = (600, 750), colour: str = "steelblue", image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, image_format)
    return buffer.getvalue()


@pytest.fixture
def add_picture():
    def add(
        product: Product, *, alt: str = "", position: int = 0, variant_id: int | None = None, name: str = "picture.png", size=(600, 750)
    ) -> ProductImage:
        image, _written = images.add_image(
            product=product, file=ContentFile(picture_bytes(size), name=name), name=name, alt=alt, position=position, variant_id=variant_id
        )
        return image

    return add


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


# --- thumbnails: made once, shown with their sizes ---------------------------------------


def test_saving_an_image_makes_every_size_once_and_records_it(make_variant, add_picture):
    variant = make_variant(price="30.00")

    image = add_picture(variant.product, alt="Blue shirt, front")

    assert ProductImage.objects.values_list("width", "height").get(pk=image.pk) == (600, 750)
    image.refresh_from_db()
    assert image.thumbnails["source"] == image.image.name
    sizes = {key: tuple(entry[1:]) for key, entry in image.thumbnails.items() if key != "source"}
    # 4:5 crops; the 2x of the product page is capped at the picture's own 600 x 750.
    assert sizes == {"card": (320, 400), "card@2x": (600, 750), "detail": (560, 700), "detail@2x": (600, 750), "thumb": (80, 100), "thumb@2x": (160, 200)}
    for key, (name, width, height) in ((k, e) for k, e in image.thumbnails.items() if k != "source"):
        with default_storage.open(name) as handle, Image.open(handle) as thumb:
            assert thumb.size == (width, height), key


def test_pages_render_recorded_thumbnails_without_making_them_again(client, make_variant, add_picture):
    products = []
    for n in range(6):
        variant = make_variant(price=f"{10 + n}.00")
        Product.objects.filter(pk=variant.product_id).update(name=f"Item {n}")
        add_picture(variant.product, alt=f"Item {n} picture")
        products.append(variant.product)

    with mock.patch("easy_thumbnails.files.Thumbnailer.generate_thumbnail") as generate:
        listing = client.get("/").content.decode()
        detail = client.get(products[0].get_absolute_url()).content.decode()
        client.get("/")

    generate.assert_not_called()
    card_images = re.findall(r"<img [^>]*>", listing.split('class="product-grid"')[1])
    assert len(card_images) == 6
    first = ProductImage.objects.get(product=products[0])
    card, card_2x = first.thumbnails["card"], first.thumbnails["card@2x"]
    assert f'src="/media/{card[0]}"' in card_images[0]
    assert f'srcset="/media/{card[0]} 1x, /media/{card_2x[0]} 2x"' in card_images[0]
    assert 'width="320" height="400"' in card_images[0] and 'alt="Item 0 picture"' in card_images[0]
    # The first row is not lazy (it is what the shopper sees first); the rest are.
    assert ['loading="lazy"' in tag for tag in card_images] == [False, False, False, False, True, True]
    main = re.search(r'<li class="gallery-slide"[^>]*>\s*(<img [^>]*>)', detail).group(1)
    assert 'width="560" height="700"' in main and 'loading="lazy"' not in main and 'alt="Item 0 picture"' in main


def test_an_image_saved_without_sizes_gets_them_on_first_view_only(client, make_variant):
    variant = make_variant()
    image = ProductImage(product=variant.product, alt="Made elsewhere")
    image.image.save("elsewhere.png", ContentFile(picture_bytes()), save=True)
    assert image.thumbnails == {}

    client.get(variant.product.get_absolute_url())
    recorded = ProductImage.objects.values_list("thumbnails", flat=True).get(pk=image.pk)
    # Its pixel size is stored too, so loading the row no longer opens the file.
    assert ProductImage.objects.values_list("width", "height").get(pk=image.pk) == (600, 750)
    with mock.patch("easy_thumbnails.files.Thumbnailer.generate_thumbnail") as generate:
        page = client.get(variant.product.get_absolute_url()).content.decode()

    generate.assert_not_called()
    assert recorded["detail"][1:] == [560, 700]
    assert f'src="/media/{recorded["detail"][0]}"' in page


def test_product_page_shows_every_picture_in_order_with_alt_text_and_variant_links(client, make_variant, add_picture):
    blue = make_variant("SHIRT-BLUE-M", colour="Blue", size="M")
    white = make_variant("SHIRT-WHITE-M", product=blue.product, colour="White", size="M")
    add_picture(blue.product, alt="Shirt in white", position=2, variant_id=white.pk)
    add_picture(blue.product, alt="Shirt in blue", position=1, variant_id=blue.pk)
    add_picture(blue.product, alt="Close-up of the collar", position=3)

    page = client.get(blue.product.get_absolute_url()).content.decode()

    slides = re.findall(r'<li class="gallery-slide" id="picture-(\d)"([^>]*)>\s*<img [^>]*alt="([^"]*)"', page)
    assert [(n, alt) for n, _attrs, alt in slides] == [("1", "Shirt in blue"), ("2", "Shirt in white"), ("3", "Close-up of the collar")]
    assert [attrs.strip() for _n, attrs, _alt in slides] == [f'data-variant-id="{blue.pk}"', f'data-variant-id="{white.pk}"', ""]
    assert page.count('href="#picture-') == 3  # the small pictures link to each, without script
    variants = json.loads(re.search(r'<script id="gallery-variants" type="application/json">(.*?)</script>', page).group(1))
    assert variants["SHIRT-WHITE-M"] == {"id": white.pk, "attributes": {"colour": "White", "size": "M"}}
    assert 'src="/static/js/gallery.js"' in page


def test_a_product_without_pictures_shows_a_placeholder(client, make_variant):
    variant = make_variant()

    listing = client.get("/").content.decode()
    page = client.get(variant.product.get_absolute_url()).content.decode()

    assert 'class="product-card-placeholder"' in listing and "<img" not in listing.split('class="product-grid"')[1]
    assert 'class="gallery-placeholder"' in page


# --- query counts do not grow with pictures -------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/", "/api/v1/products/", "product"])
def test_query_counts_do_not_grow_with_pictures(client, make_variant, add_picture, url):
    variants = [make_variant(price="20.00") for _ in range(3)]
    target = lambda: variants[0].product.get_absolute_url() if url == "product" else url  # noqa: E731
    client.get(target())  # warm the session, rates and the like
    without = _queries(client, target())

    small = (160, 200)  # quick to thumbnail; the count is what matters here
    for variant in variants:
        for position in range(3):
            add_picture(variant.product, position=position, name=f"p{position}.png", size=small)
    for _ in range(3):
        variant = make_variant(price="25.00")
        add_picture(variant.product, size=small)
        add_picture(variant.product, position=1, size=small)

    # The pictures come with the products' one prefetch query, there with or without them.
    assert _queries(client, target()) == without


# --- the API -----------------------------------------------------------------------------


def test_api_product_lists_its_images_with_url_alt_and_size(client, make_variant, add_picture, settings):
    settings.SITE_URL = "https://shop.example.com"
    variant = make_variant("MUG-1")
    second = add_picture(variant.product, alt="", position=2)
    first = add_picture(variant.product, alt="Mug from the side", position=1, variant_id=variant.pk)

    body = client.get(f"/api/v1/products/{variant.product.slug}/").json()

    assert body["images"] == [
        {"url": f"https://shop.example.com/media/{first.thumbnails['detail@2x'][0]}", "alt": "Mug from the side", "width": 600, "height": 750, "variant": "MUG-1"},
        {"url": f"https://shop.example.com/media/{second.thumbnails['detail@2x'][0]}", "alt": variant.product.name, "width": 600, "height": 750, "variant": None},
    ]
    listed = client.get("/api/v1/products/").json()["results"]
    assert [p["images"] for p in listed if p["slug"] == variant.product.slug] == [body["images"]]
    assert default_storage.exists(first.thumbnails["detail@2x"][0])


def test_api_product_without_images_has_an_empty_list(client, make_variant):
    variant = make_variant()

    assert client.get(f"/api/v1/products/{variant.product.slug}/").json()["images"] == []


# --- admin -------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The fields of the admin change form as a browser would post them (no files)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _change_form(admin_client, product: Product) -> dict[str, object]:
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    parser = _FormFields()
    parser.feed(page.split('id="product_form"', 1)[1])
    return {name: values if len(values) != 1 else values[0] for name, values in parser.data.items() if "__prefix__" not in name}


def test_admin_uploads_a_picture_with_alt_and_order_and_shows_a_preview(admin_client, make_variant):
    variant = make_variant()
    data = _change_form(admin_client, variant.product)
    data.update({"images-0-alt": "Front view", "images-0-position": "1",
                 "images-0-image": SimpleUploadedFile("front.jpg", picture_bytes(image_format="JPEG"), content_type="image/jpeg")})

    response = admin_client.post(f"/admin/catalog/product/{variant.product.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    image = ProductImage.objects.get(product=variant.product)
    assert ProductImage.objects.values_list("alt", "position", "width", "height").get() == ("Front view", 1, 600, 750)
    assert {"card", "card@2x", "detail", "detail@2x", "thumb", "thumb@2x"} <= set(image.thumbnails)
    page = admin_client.get(f"/admin/catalog/product/{variant.product.pk}/change/").content.decode()
    assert f'<img src="/media/{image.thumbnails["thumb@2x"][0]}" width="80" height="100"' in page


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.png", b"this is a text file, not a picture", "Upload a valid image."),
        ("scan.tiff", picture_bytes(image_format="TIFF"), "This file is a TIFF image; use JPEG, PNG, GIF or WebP."),
    ],
)
def test_admin_refuses_a_file_that_is_not_a_web_picture_with_a_message(admin_client, make_variant, filename, content, message):
    variant = make_variant()
    files_before = stored_files()
    data = _change_form(admin_client, variant.product)
    data.update({"images-0-alt": "Oops", "images-0-image": SimpleUploadedFile(filename, content, content_type="image/png")})

    response = admin_client.post(f"/admin/catalog/product/{variant.product.pk}/change/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProductImage.objects.exists()
    assert stored_files() == files_before


# --- import_catalog with images ------------------------------------------------------------


def catalog_with_images(folder: Path, *pictures: dict) -> dict:
    return {"products": [{
        "slug": "sun-hat", "name": "Sun hat", "category": "Accessories",
        "variants": [
            {"sku": "HAT-STRAW", "attributes": {"colour": "Straw"}, "price_usd": "25.00", "stock": 4},
            {"sku": "HAT-BLACK", "attributes": {"colour": "Black"}, "price_usd": "25.00", "stock": 2},
        ],
        "images": list(pictures),
    }]}


@pytest.fixture
def picture_folder(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "straw.png").write_bytes(picture_bytes(colour="wheat"))
    (tmp_path / "pics" / "black.jpg").write_bytes(picture_bytes(colour="black", image_format="JPEG"))
    (tmp_path / "readme.png").write_bytes(b"not a picture at all")
    return tmp_path


def test_import_attaches_images_in_order_relative_to_the_file_or_absolute(db, picture_folder):
    data = catalog_with_images(
        picture_folder,
        {"path": "pics/straw.png", "alt": "Straw sun hat", "variant": "HAT-STRAW"},
        {"path": str(picture_folder / "pics" / "black.jpg"), "alt": "Black sun hat", "variant": "HAT-BLACK"},
    )

    result = import_catalog(data, image_dir=picture_folder)

    pictures = list(ProductImage.objects.filter(product__slug="sun-hat"))
    stored = ProductImage.objects.filter(product__slug="sun-hat").values_list("alt", "position", "variant__sku", "width", "height")
    assert list(stored) == [
        ("Straw sun hat", 0, "HAT-STRAW", 600, 750), ("Black sun hat", 1, "HAT-BLACK", 600, 750),
    ]
    assert all(p.thumbnails.get("card") and default_storage.exists(p.thumbnails["card"][0]) for p in pictures)
    assert result.images_added == 2

    # Importing the same file again keeps the stored pictures (no copies); a new order and
    # alt text are taken; a picture the file no longer lists is removed.
    files = stored_files()
    data["products"][0]["images"] = [{"path": "pics/black.jpg", "alt": "Black, now first"}]
    again = import_catalog(data, image_dir=picture_folder)

    assert (again.images_added, again.images_removed) == (0, 1)
    kept = ProductImage.objects.get(product__slug="sun-hat")
    assert (kept.pk, kept.alt, kept.position, kept.variant_id) == (pictures[1].pk, "Black, now first", 0, None)
    assert stored_files() <= files


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ({"path": "pics/missing.png"}, "products[0] (sun-hat).images[1].path", "'pics/missing.png': no such file"),
        ({"path": "readme.png"}, "products[0] (sun-hat).images[1].path", "'readme.png' is not an image"),
        ({"path": "pics/black.jpg", "variant": "HAT-RED"}, "products[0] (sun-hat).images[1].variant", "must be the SKU of one of this product's variants"),
        ({"path": "pics/black.jpg", "colour": "Black"}, "products[0] (sun-hat).images[1].colour", "is not a key of this entry"),
        ({"alt": "no path"}, "products[0] (sun-hat).images[1].path", "is required"),
    ],
)
def test_a_bad_image_entry_imports_nothing_and_is_named(db, picture_folder, entry, where, message):
    files_before = stored_files()
    data = catalog_with_images(picture_folder, {"path": "pics/straw.png", "alt": "Straw"}, entry)

    with pytest.raises(InvalidInput) as refusal:
        import_catalog(data, image_dir=picture_folder)

    assert where in refusal.value.details and message in refusal.value.details[where][0]
    assert not Product.objects.exists() and not ProductImage.objects.exists()
    assert stored_files() == files_before


def test_files_stored_by_an_import_that_fails_later_are_deleted(db, picture_folder):
    files_before = stored_files()
    data = catalog_with_images(picture_folder, {"path": "pics/straw.png"})
    data["tax_rates"] = [{"country": "XX", "name": "VAT", "rate": "20.00"}]  # refused after the products are written

    with pytest.raises(InvalidInput):
        import_catalog(data, image_dir=picture_folder)

    assert not ProductImage.objects.exists()
    assert stored_files() == files_before


def test_import_command_reads_image_paths_relative_to_the_file(db, picture_folder):
    catalog = picture_folder / "catalog.json"
    catalog.write_text(json.dumps(catalog_with_images(picture_folder, {"path": "pics/straw.png", "alt": "Straw"})))
    out = io.StringIO()

    call_command("import_catalog", str(catalog), stdout=out)

    assert "2 images" not in out.getvalue() and "1 images added, 0 removed" in out.getvalue()
    assert ProductImage.objects.get().alt == "Straw"

    catalog.write_text(json.dumps(catalog_with_images(picture_folder, {"path": "readme.png"})))
    with pytest.raises(CommandError, match=r"nothing imported\. products\[0\] \(sun-hat\)\.images\[0\]\.path: 'readme.png' is not an image"):
        call_command("import_catalog", str(catalog), stdout=io.StringIO())
    assert ProductImage.objects.get().alt == "Straw"


def test_a_lost_picture_file_does_not_break_the_page(client, make_variant, add_picture, caplog):
    variant = make_variant()
    image = add_picture(variant.product, alt="Lost", name="lost.png")
    ProductImage.objects.filter(pk=image.pk).update(thumbnails={})  # say, a size added since
    default_storage.delete(image.image.name)

    response = client.get(variant.product.get_absolute_url())

    assert response.status_code == 200
    assert f'<img src="/media/{image.image.name}" srcset="/media/{image.image.name} 1x" width="560" height="700" alt="Lost"' in response.content.decode()
    assert "No thumbnail of product image" in caplog.text
