"""The screenshots the README shows: `make screenshots` writes tests/browser/screenshots/.

Starts the CMS on a fresh SQLite database, writes a post in the real editor as the admin and
photographs the edit screen on a wide screen and on a phone; then fills the site with the
theme's demo posts (featured images, bios), photographs the dashboard's home and posts list,
and the readers' home page and a post, light and dark, as a reader without an account sees
them.
"""

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM,
    LAUNCH_ARGS,
    start_live_server,
)
from tests.browser.people import fill_body, log_in
from tests.browser.test_theme_browser import run_seed, wait_for_images

OUT = Path(__file__).parent / "screenshots"
TITLE = "Walking the harbour wall at dawn"
BODY = """The ferry leaves at nine, but the harbour wakes long before that. \
Here is what an hour on the wall looks like[^1].

[TOC]

## Before the light

Fishing boats come in with the tide. The gulls know the schedule better than \
anyone: they arrive **ten minutes** before the first crate is lifted.

- Bring a flask of tea
- Wear boots with ~~smooth~~ good soles
- [x] Check the tide table

## The route

| Stretch | Distance | Best time |
|:--------|---------:|:---------:|
| Lighthouse | 1.2 km | 06:30 |
| Fish market | 0.4 km | 07:00 |

```python
def tide_is_low(height_m: float) -> bool:
    return height_m < 1.5
```

[^1]: Times are for November; in summer, start an hour earlier.
"""


def main() -> None:
    """Write the screenshots."""
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = start_live_server(
            Path(folder),
            f"sqlite:///{Path(folder) / 'cms.db'}",
            "readme",
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            TWO_FACTOR_REQUIRED_ROLES="none",
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                page = browser.new_page(
                    base_url=server.url, viewport={"width": 1440, "height": 900}
                )
                log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
                page.goto("/admin/posts/new/")
                page.locator("#title").fill(TITLE)
                fill_body(page, BODY)
                expect(page.locator("#cms-live-preview h2").first).to_be_visible()
                page.locator("#cms-post-form button[name=workflow][value=save]").click()
                page.wait_for_load_state()
                expect(page.locator("#cms-live-preview table")).to_be_visible()
                page.screenshot(path=str(OUT / "edit-screen.png"))
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=str(OUT / "edit-screen-phone.png"))
                run_seed(server)
                # The dashboard as an editor meets it: the home page and the posts list.
                page.set_viewport_size({"width": 1440, "height": 900})
                page.goto("/admin/")
                page.screenshot(path=str(OUT / "dashboard-home.png"))
                page.goto("/admin/posts/")
                page.screenshot(path=str(OUT / "dashboard-posts.png"))
                for scheme in ("light", "dark"):
                    reader = browser.new_page(
                        base_url=server.url,
                        viewport={"width": 1280, "height": 900},
                        color_scheme=scheme,
                    )
                    reader.goto("/")
                    wait_for_images(reader)
                    reader.screenshot(path=str(OUT / f"site-home-{scheme}.png"))
                    if scheme == "light":
                        reader.locator(".hero .card-title a").click()
                        wait_for_images(reader)
                        reader.screenshot(path=str(OUT / "site-post.png"), full_page=True)
                        reader.goto("/search?q=caching")
                        reader.screenshot(path=str(OUT / "site-search.png"))
                    reader.close()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
