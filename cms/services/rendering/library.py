"""What the renderer needs to know about the file library, asked through an object passed in.

The rendering package looks nothing up itself: the caller passes an object with these methods
(cms.services.media_library.MediaLibrary for the real library), so content depends on media in
one direction only. Records are plain data.
"""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class LibraryImage:
    """One library image as a page shows it: size, alt text and its responsive candidates."""

    stored_name: str
    width: int
    height: int
    # The library's alt text: "" when marked decorative, None when nobody described it.
    alt: str | None
    # (url, width) candidates in the original format, and as WebP (empty when there are none).
    srcset: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    webp: tuple[tuple[str, int], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class VideoThumbnail:
    """A video's thumbnail imported into the library, and the title the video site gave."""

    # The video's canonical page (embeds.Video.source_url), the key it was imported under.
    source_url: str
    stored_name: str
    width: int
    height: int
    title: str = ""


class Library(Protocol):
    """The file library, as far as the renderer asks it anything."""

    def images(self, names: set[str]) -> dict[str, LibraryImage]:
        """Return the library images among these stored names, by stored name."""
        ...

    def thumbnails(self, urls: set[str]) -> dict[str, VideoThumbnail]:
        """Return the imported thumbnails of these video pages, by canonical page address."""
        ...
