"""Pictures for the demo catalog, drawn with Pillow when the demo is seeded (no downloads):
a garment or accessory silhouette in the variant's colour on a soft background of the same
hue, with the product's initials. Deterministic: the same product draws the same picture."""
from __future__ import annotations

import colorsys
import hashlib
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

# Drawn at twice the stored size and scaled down: smooth edges without antialiasing support.
SIZE = (800, 1000)
SCALE = 2

COLOURS = {
    "white": (244, 242, 236), "ecru": (232, 222, 200), "cream": (240, 230, 205), "natural": (226, 211, 180),
    "oat": (214, 198, 170), "sand": (206, 184, 146), "stone": (176, 168, 152), "camel": (184, 138, 84),
    "khaki": (160, 150, 104), "olive": (108, 112, 62), "sage": (146, 164, 130), "forest": (44, 84, 58),
    "teal": (36, 110, 116), "sky": (140, 182, 222), "blue": (70, 118, 186), "denim": (62, 92, 136),
    "indigo": (52, 60, 112), "navy": (34, 44, 78), "charcoal": (58, 60, 66), "black": (30, 30, 34),
    "grey": (140, 142, 148), "heather grey": (160, 160, 164), "burgundy": (116, 32, 50), "red": (190, 48, 48),
    "rust": (172, 84, 44), "terracotta": (196, 106, 74), "mustard": (212, 164, 52), "yellow": (236, 200, 70),
    "pink": (230, 160, 170), "lilac": (178, 158, 204), "brown": (110, 72, 46), "tan": (190, 146, 100),
    "stripe": (70, 118, 186), "graphite": (72, 74, 80), "chocolate": (84, 54, 38), "coral": (236, 120, 100),
}
DEFAULT_COLOUR = (96, 110, 140)


def colour_of(name: str | None) -> tuple[int, int, int]:
    if not name:
        return DEFAULT_COLOUR
    key = name.strip().lower()
    if key in COLOURS:
        return COLOURS[key]
    for word in reversed(key.split()):
        if word in COLOURS:
            return COLOURS[word]
    digest = hashlib.sha256(key.encode()).digest()  # an unknown colour still gets one of its own
    return digest[0] // 2 + 60, digest[1] // 2 + 60, digest[2] // 2 + 60


def _background(colour: tuple[int, int, int], variation: int) -> tuple[int, int, int]:
    """A pale tint of the garment's hue (a warm grey for greys, blacks and whites)."""
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in colour))
    h = (h + 0.04 * variation) % 1.0
    s = min(0.35, s * 0.6) if s > 0.08 else 0.12
    r, g, b = colorsys.hls_to_rgb(h if s > 0.12 else 0.09, 0.93 - 0.02 * variation, s)
    return int(r * 255), int(g * 255), int(b * 255)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    if factor < 1:
        return tuple(int(c * factor) for c in colour)  # type: ignore[return-value]
    return tuple(int(c + (255 - c) * (factor - 1)) for c in colour)  # type: ignore[return-value]


def _outline(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    lightness = sum(colour) / 3
    return _shade(colour, 0.72) if lightness > 90 else _shade(colour, 1.35)


# Silhouettes on a 100 x 125 grid (x, y), mirrored where symmetric.
def _mirror(half: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return half + [(100 - x, y) for x, y in reversed(half)]


SHAPES: dict[str, list[list[tuple[float, float]]]] = {
    "tee": [_mirror([(50, 24), (40, 22), (24, 27), (10, 44), (21, 52), (29, 45), (29, 104)])],
    "shirt": [_mirror([(50, 26), (41, 21), (27, 25), (18, 36), (8, 98), (18, 100), (28, 56), (28, 106)])],
    "knit": [_mirror([(50, 25), (40, 22), (26, 26), (17, 40), (10, 96), (21, 98), (29, 58), (28, 102)])],
    "jacket": [_mirror([(50, 30), (44, 21), (38, 14), (30, 17), (22, 27), (14, 42), (8, 100), (19, 102), (27, 60), (26, 106)])],
    "coat": [_mirror([(50, 34), (44, 21), (38, 14), (30, 17), (22, 27), (14, 42), (9, 96), (20, 98), (27, 60), (24, 118)])],
    "puffer": [_mirror([(50, 26), (42, 18), (30, 20), (18, 30), (10, 44), (6, 96), (20, 98), (26, 60), (25, 100)])],
    "gilet": [_mirror([(50, 30), (42, 17), (32, 19), (30, 30), (33, 44), (27, 54), (27, 104)])],
    "hoodie": [_mirror([(50, 34), (42, 30), (37, 18), (41, 10), (50, 7)]), _mirror([(50, 25), (40, 22), (26, 26), (17, 40), (10, 96), (21, 98), (29, 58), (28, 102)])],
    "trousers": [[(30, 14), (70, 14), (73, 30), (78, 116), (60, 116), (51, 46), (49, 46), (40, 116), (22, 116), (27, 30)]],
    "shorts": [[(26, 30), (74, 30), (77, 46), (82, 86), (56, 88), (51, 60), (49, 60), (44, 88), (18, 86), (23, 46)]],
    "socks": [
        [(24, 12), (44, 12), (44, 80), (54, 90), (60, 98), (56, 106), (30, 106), (24, 96)],
        [(58, 20), (78, 20), (78, 88), (88, 98), (92, 106), (88, 114), (62, 114), (58, 104)],
    ],
    "tote": [[(20, 44), (80, 44), (84, 112), (16, 112)]],
    "beanie": [[(20, 84), (20, 66), (24, 48), (34, 36), (50, 31), (66, 36), (76, 48), (80, 66), (80, 84)]],
    "cap": [[(22, 76), (24, 58), (34, 44), (50, 40), (66, 44), (76, 58), (78, 76), (94, 80), (92, 86), (22, 84)]],
    "scarf": [[(30, 12), (46, 12), (46, 108), (30, 108)], [(46, 30), (70, 30), (74, 40), (52, 116), (40, 112)]],
    "belt": [[(14, 56), (86, 56), (86, 68), (14, 68)]],
    "bag": [[(18, 50), (82, 50), (86, 104), (14, 104)]],
    "dress": [_mirror([(50, 24), (41, 20), (32, 22), (28, 40), (30, 54), (20, 114)])],
}


def _draw_details(draw: ImageDraw.ImageDraw, kind: str, p, line, fill, width: int) -> None:
    """Seams, collars, pockets: a few lines that make the silhouette read as the garment."""
    if kind in ("tee", "knit", "dress"):
        draw.arc([p(41, 14), p(59, 30)], 0, 180, fill=line, width=width)
    if kind == "knit":
        for y in (98, 101):
            draw.line([p(29, y), p(71, y)], fill=line, width=width // 2)
        for x0, x1 in ((10, 21), (79, 90)):
            draw.line([p(x0, 93), p(x1, 95)], fill=line, width=width // 2)
    if kind == "shirt":
        draw.polygon([p(41, 21), p(50, 33), p(44, 36), p(38, 24)], fill=_shade(fill, 0.92), outline=line, width=width // 2)
        draw.polygon([p(59, 21), p(50, 33), p(56, 36), p(62, 24)], fill=_shade(fill, 0.92), outline=line, width=width // 2)
        draw.line([p(50, 33), p(50, 106)], fill=line, width=width // 2)
        for y in range(42, 104, 12):
            draw.ellipse([p(51, y), p(53.4, y + 2)], fill=line)
        draw.rectangle([p(33, 44), p(43, 54)], outline=line, width=width // 2)
    if kind in ("coat", "gilet"):
        draw.line([p(50, 34 if kind == "coat" else 30), p(50, 118 if kind == "coat" else 104)], fill=line, width=width)
        for y in range(44, 110 if kind == "coat" else 100, 14):
            draw.ellipse([p(45, y), p(47.6, y + 2)], fill=line)
            if kind == "coat":
                draw.ellipse([p(53, y), p(55.6, y + 2)], fill=line)
        if kind == "coat":
            draw.line([p(25, 70), p(75, 70)], fill=_shade(fill, 0.8), width=width * 2)
    if kind == "puffer":
        draw.line([p(50, 26), p(50, 100)], fill=line, width=width)
    if kind == "hoodie":
        draw.line([p(46, 34), p(45, 52)], fill=line, width=width // 2)
        draw.line([p(54, 34), p(55, 52)], fill=line, width=width // 2)
        draw.polygon([p(36, 74), p(64, 74), p(68, 92), p(32, 92)], outline=line, width=width // 2)
    if kind == "jacket":
        draw.line([p(50, 30), p(50, 106)], fill=line, width=width)
        draw.polygon([p(38, 14), p(44, 21), p(50, 30), p(40, 30), p(34, 18)], fill=_shade(fill, 0.9))
        draw.polygon([p(62, 14), p(56, 21), p(50, 30), p(60, 30), p(66, 18)], fill=_shade(fill, 0.9))
        for x in (31, 58):
            draw.line([p(x, 80), p(x + 11, 80)], fill=line, width=width)
    if kind in ("trousers", "shorts"):
        top = 14 if kind == "trousers" else 30
        draw.line([p(30 if kind == "trousers" else 26, top + 6), p(70 if kind == "trousers" else 74, top + 6)], fill=line, width=width)
        draw.line([p(50, top + 6), p(50, top + 22)], fill=line, width=width // 2)
        for x in (36, 64):
            draw.arc([p(x - 8, top + 4), p(x + 8, top + 18)], 0, 180, fill=line, width=width // 2)
    if kind == "socks":
        for x0, y in ((24, 24), (58, 32)):
            for k in range(3):
                draw.line([p(x0, y + 3 * k), p(x0 + 20, y + 3 * k)], fill=line, width=width // 2)
    if kind == "tote":
        draw.arc([p(30, 18), p(48, 66)], 180, 360, fill=line, width=width * 2)
        draw.arc([p(52, 18), p(70, 66)], 180, 360, fill=line, width=width * 2)
    if kind == "bag":
        draw.arc([p(32, 26), p(68, 74)], 180, 360, fill=line, width=width * 2)
        draw.line([p(18, 64), p(82, 64)], fill=line, width=width // 2)
        draw.rectangle([p(46, 60), p(54, 68)], fill=line)
    if kind == "beanie":
        draw.rectangle([p(18, 70), p(82, 86)], fill=_shade(fill, 0.9), outline=line, width=width // 2)
        for x in range(24, 80, 6):
            draw.line([p(x, 72), p(x, 84)], fill=line, width=width // 3)
    if kind == "cap":
        draw.line([p(50, 41), p(50, 76)], fill=line, width=width // 2)
        draw.ellipse([p(48, 37), p(52, 41)], fill=line)
    if kind == "scarf":
        for x in range(31, 46, 3):
            draw.line([p(x, 108), p(x, 116)], fill=line, width=width // 2)
        for y in range(24, 100, 14):
            draw.line([p(30, y), p(46, y)], fill=_shade(fill, 0.85), width=width)
    if kind == "belt":
        draw.rectangle([p(8, 52), p(24, 72)], outline=(150, 130, 80), width=width * 2)
        draw.line([p(16, 62), p(30, 62)], fill=(150, 130, 80), width=width)
        for x in range(40, 86, 8):
            draw.ellipse([p(x, 61), p(x + 2, 63)], fill=line)


def draw_product(
    path: Path, *, kind: str, colour_name: str | None, initials: str, variation: int = 0, detail: bool = False
) -> Path:
    """Draw one picture to `path` (PNG) and return it. variation: 0 front, 1 turned a
    little, 2 a close-up (detail)."""
    colour = colour_of(colour_name)
    width, height = SIZE[0] * SCALE, SIZE[1] * SCALE
    background = _background(colour, variation)
    zoom = 1.55 if detail else (0.94 if variation == 1 else 0.86)
    tilt = -6 if variation == 1 else 0
    centre_x, centre_y = 50, 64 if not detail else 48

    def p(x: float, y: float) -> tuple[float, float]:
        sx = (x - 50) * zoom + centre_x + tilt * (y - 62) / 125
        sy = (y - 62) * zoom + centre_y
        return sx * width / 100, sy * height / 125

    # The background with a soft shadow, made at an eighth of the size and enlarged: both
    # are smooth, and blurring and compositing at full size is the slow part.
    small = (width // 8, height // 8)
    shadow = Image.new("L", small, 0)
    shadow_draw = ImageDraw.Draw(shadow)
    for polygon in SHAPES[kind]:
        shadow_draw.polygon([((x + 18 * SCALE) / 8, (y + 26 * SCALE) / 8) for x, y in (p(*point) for point in polygon)], fill=70)
    base = Image.new("RGB", small, background)
    base.paste(_shade(background, 0.8), mask=shadow.filter(ImageFilter.GaussianBlur(18 * SCALE / 8)))
    picture = base.resize((width, height), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(picture)

    line, line_width = _outline(colour), 4 * SCALE
    for polygon in SHAPES[kind]:
        draw.polygon([p(*point) for point in polygon], fill=colour, outline=line, width=line_width)
    _draw_details(draw, kind, p, line, colour, line_width)
    stripes = None
    if colour_name and "stripe" in colour_name.lower():  # white stripes
        stripes, stripe_colour, step, thickness = Image.new("L", (width, height), 0), (244, 242, 236), 22, 8
    elif kind in ("puffer", "gilet"):  # quilting
        stripes, stripe_colour, step, thickness = Image.new("L", (width, height), 0), _shade(colour, 0.8), 90, 3
    if stripes is not None:  # drawn inside the shape only
        inside = Image.new("L", (width, height), 0)
        inside_draw = ImageDraw.Draw(inside)
        for polygon in SHAPES[kind]:
            inside_draw.polygon([p(*point) for point in polygon], fill=255)
        stripes_draw = ImageDraw.Draw(stripes)
        for y in range(step * SCALE // 2, height, step * SCALE):
            stripes_draw.rectangle([0, y, width, y + thickness * SCALE], fill=255)
        picture.paste(stripe_colour, mask=ImageChops.multiply(stripes, inside))
        for polygon in SHAPES[kind]:
            draw.polygon([p(*point) for point in polygon], outline=line, width=line_width)

    # The product's initials in a round label, bottom left.
    font = ImageFont.load_default(size=int(46 * SCALE))
    radius = 58 * SCALE
    cx, cy = 92 * SCALE, height - 92 * SCALE
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=(255, 255, 255), outline=_shade(background, 0.82), width=2 * SCALE)
    ink = colour if sum(colour) < 480 else (70, 72, 80)  # light garments: dark letters
    draw.text((cx, cy), initials, font=font, fill=ink, anchor="mm")

    picture = picture.reduce(SCALE)  # box-average: the antialiasing
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "PNG", compress_level=3)
    return path


def initials_of(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


KEYWORDS = (
    ("sock", "socks"), ("tote", "tote"), ("bag", "bag"), ("holdall", "bag"), ("satchel", "bag"), ("belt", "belt"),
    ("beanie", "beanie"), ("cap", "cap"), ("scarf", "scarf"), ("short", "shorts"), ("dress", "dress"),
    ("tee", "tee"), ("t-shirt", "tee"), ("polo", "tee"), ("puffer", "puffer"), ("anorak", "puffer"), ("jacket", "jacket"),
    ("coat", "coat"), ("parka", "coat"), ("gilet", "gilet"), ("hoodie", "hoodie"), ("overshirt", "shirt"), ("shirt", "shirt"), ("sweater", "knit"), ("jumper", "knit"),
    ("cardigan", "knit"), ("hoodie", "knit"), ("knit", "knit"), ("sweatshirt", "knit"), ("trouser", "trousers"),
    ("chino", "trousers"), ("jean", "trousers"), ("pant", "trousers"),
)
BY_CATEGORY = {"shirts": "shirt", "t-shirts": "tee", "knitwear": "knit", "trousers": "trousers", "outerwear": "jacket"}


def kind_for(slug: str, category: str | None) -> str:
    """Which silhouette a product gets: from a word of its slug, else its category."""
    for word, kind in KEYWORDS:
        if word in slug:
            return kind
    return BY_CATEGORY.get((category or "").lower(), "bag")


def pictures_for(product: dict, folder: Path) -> list[dict]:
    """Draw a catalog file product's pictures into `folder` and return its "images"
    entries: one per colour (up to three, each shown for that colour's variants), and for
    a product of one or two colours a close-up too (and a turned view for one colour)."""
    kind = kind_for(product["slug"], product.get("category"))
    initials = initials_of(product["name"])
    first_of_colour: dict[str | None, str] = {}
    for variant in product["variants"]:
        first_of_colour.setdefault((variant.get("attributes") or {}).get("colour"), variant["sku"])
    colours = list(first_of_colour)[:3]
    plan: list[tuple[str | None, int, bool, str | None]] = [(c, 0, False, first_of_colour[c] if c else None) for c in colours]
    if len(colours) == 1:
        plan.append((colours[0], 1, False, None))
    if len(colours) <= 2:
        plan.append((colours[0], 2, True, None))
    entries = []
    for index, (colour, variation, detail, sku) in enumerate(plan):
        path = draw_product(
            folder / f"{product['slug']}-{index + 1}.png",
            kind=kind, colour_name=colour, initials=initials, variation=variation, detail=detail,
        )
        view = "close-up" if detail else ("side view" if variation == 1 else "front")
        alt = f"{product['name']}" + (f" in {colour.lower()}" if colour else "") + f", {view}"
        entries.append({"path": str(path), "alt": alt, **({"variant": sku} if sku and len(colours) > 1 else {})})
    return entries
