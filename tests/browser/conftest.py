"""What the browser tests share for the whole session: one headless Chromium (one page of each
kind, see driver.mjs), and the CLI's pages and runs, each made once (page_support.Made)."""

from __future__ import annotations

import pytest

from page_support import Browser, Made, missing


@pytest.fixture(scope="session")
def browser():
    if missing() is not None:
        pytest.skip(f"no browser: {missing()}")
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="session")
def made(tmp_path_factory) -> Made:
    return Made(tmp_path_factory.mktemp("pages"))
