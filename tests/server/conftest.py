"""End-to-end fixtures: the real server over stdio, driven by pytest-lsp's client
(helpers in server_support.py)."""

import pytest_lsp
from pytest_lsp import LanguageClient

from server_support import CLIENTS, initialize, server_config


@pytest_lsp.fixture(config=server_config(), params=CLIENTS, scope="module")
async def client(lsp_client: LanguageClient, request):
    lsp_client.profile = request.param
    lsp_client.init_result = await initialize(lsp_client, request.param)
    yield
    await lsp_client.shutdown_session()
