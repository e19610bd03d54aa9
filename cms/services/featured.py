"""A post's featured image (its social image) as the theme shows it: size, alt, renditions."""

from dataclasses import dataclass

from cms.models import File
from cms.services import renditions


@dataclass(frozen=True)
class FeaturedImage:
    """What an <img>/<picture> of a library image needs; srcsets are ready-made text."""

    src: str
    width: int
    height: int
    alt: str
    srcset: str = ""
    webp_srcset: str = ""


def _candidates(pairs) -> str:
    return ", ".join(f"{url} {width}w" for url, width in pairs)


def featured_image(record: File | None) -> FeaturedImage | None:
    """Return a library image with its renditions (the renderer's srcsets), or None.

    None when there is no image, or it is not one browsers show (its size unknown).
    """
    if record is None or not record.is_image or not record.width or not record.height:
        return None
    found = renditions.srcset_for(record)
    alt = "" if record.decorative else (record.alt_text or "").strip()
    return FeaturedImage(
        src=renditions.UPLOADS_PREFIX + record.stored_name,
        width=record.width,
        height=record.height,
        alt=alt,
        srcset=_candidates(found.original),
        webp_srcset=_candidates(found.webp),
    )
