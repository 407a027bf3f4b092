"""The 'not trusted' message tells the user of each editor how to trust the workspace there."""

import pytest

from constellation.server.features.lifecycle import untrusted_message


@pytest.mark.parametrize("client, how, not_there", [
    ("Visual Studio Code", "Manage Workspace Trust", "Neovim"),
    ("code-server", "Manage Workspace Trust", "Emacs"),
    ("Neovim", ":ConstellationTrust", "VS Code"),
    ("Eglot", "M-x constellation-trust-workspace", "Neovim"),
])
def test_the_message_speaks_the_clients_terms(client, how, not_there):
    text = untrusted_message(client)
    assert how in text and not_there not in text


@pytest.mark.parametrize("client", [None, "Helix"])
def test_an_unknown_client_hears_every_way(client):
    text = untrusted_message(client)
    for how in ("Manage Workspace Trust", ":ConstellationTrust", "constellation-trust-workspace",
                "initializationOptions.trusted"):
        assert how in text
