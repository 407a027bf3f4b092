"""The Constellation language server (pygls 2.x): `serve()` in `constellation.server.main`."""
