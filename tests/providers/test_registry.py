"""providers.registry: real vs emulated clients, chosen by settings and livemode."""

from __future__ import annotations

import httpx
import pytest

from providers import registry
from providers.clients.dashscope import DashScopeClient
from providers.clients.fal import FalClient
from providers.clients.wavespeed import WaveSpeedClient

EMU = "http://127.0.0.1:8700"


@pytest.fixture
def provider_settings(settings):
    settings.PROVIDER_EMULATOR_URL = EMU
    settings.PROVIDER_EMULATOR_KEY = "emulator-key"
    settings.PROVIDER_EMULATOR_WEBHOOK_SECRET = "whsec_emu"
    settings.WAVESPEED_API_KEY = ""
    settings.WAVESPEED_BASE_URL = "https://api.wavespeed.ai"
    settings.WAVESPEED_WEBHOOK_SECRET = "whsec_real"
    settings.FAL_KEY = ""
    settings.FAL_QUEUE_BASE_URL = "https://queue.fal.run"
    settings.FAL_JWKS_URL = "https://rest.fal.ai/.well-known/jwks.json"
    settings.DASHSCOPE_API_KEY = ""
    settings.DASHSCOPE_BASE_URL = "https://dashscope-intl.aliyuncs.com/api/v1"
    settings.PROVIDER_CONNECT_TIMEOUT_S = 3.0
    settings.PROVIDER_READ_TIMEOUT_S = 20.0
    settings.PROVIDER_MAX_RETRIES = 2
    return settings


@pytest.mark.parametrize("provider", ["wavespeed", "fal", "dashscope"])
def test_unset_key_is_emulated(provider_settings, provider):
    assert registry.provider_is_emulated(provider) is True
    assert registry.provider_is_emulated(provider, livemode=False) is True


@pytest.mark.parametrize(("provider", "key_setting"),
                         [("wavespeed", "WAVESPEED_API_KEY"), ("fal", "FAL_KEY"), ("dashscope", "DASHSCOPE_API_KEY")])
def test_set_key_is_real_in_live_mode_only(provider_settings, provider, key_setting):
    setattr(provider_settings, key_setting, "real-key")
    assert registry.provider_is_emulated(provider) is False
    assert registry.provider_is_emulated(provider, livemode=False) is True  # test keys never reach providers


def test_emulated_configs(provider_settings):
    ws = registry.client_for("wavespeed")
    fal = registry.client_for("fal")
    ds = registry.client_for("dashscope")
    assert isinstance(ws, WaveSpeedClient) and isinstance(fal, FalClient) and isinstance(ds, DashScopeClient)
    assert (ws.config.base_url, ws.config.api_key, ws.config.webhook_secret) == (EMU, "emulator-key", "whsec_emu")
    assert (fal.config.base_url, fal.config.jwks_url) == (EMU, f"{EMU}/.well-known/jwks.json")
    assert ds.config.base_url == f"{EMU}/api/v1"
    assert all(c.config.emulated for c in (ws, fal, ds))
    for client in (ws, fal, ds):
        client.close()


def test_real_configs(provider_settings):
    provider_settings.WAVESPEED_API_KEY = "ws-real"
    provider_settings.FAL_KEY = "fal-real"
    provider_settings.DASHSCOPE_API_KEY = "sk-real"
    ws = registry.client_for("wavespeed")
    fal = registry.client_for("fal")
    ds = registry.client_for("dashscope")
    assert (ws.config.base_url, ws.config.api_key, ws.config.webhook_secret) == (
        "https://api.wavespeed.ai", "ws-real", "whsec_real")
    assert (fal.config.base_url, fal.config.api_key, fal.config.jwks_url) == (
        "https://queue.fal.run", "fal-real", "https://rest.fal.ai/.well-known/jwks.json")
    assert (ds.config.base_url, ds.config.api_key) == ("https://dashscope-intl.aliyuncs.com/api/v1", "sk-real")
    assert not any(c.config.emulated for c in (ws, fal, ds))
    assert (ws.config.connect_timeout, ws.config.read_timeout, ws.config.max_retries) == (3.0, 20.0, 2)


def test_test_mode_uses_the_emulator_even_with_a_real_key(provider_settings):
    provider_settings.FAL_KEY = "fal-real"
    client = registry.client_for("fal", livemode=False)
    assert (client.config.base_url, client.config.api_key, client.config.emulated) == (EMU, "emulator-key", True)


def test_transport_is_used(provider_settings):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"request_id": "r", "output": {"task_id": "t1", "task_status": "PENDING"}})

    client = registry.client_for("dashscope", transport=httpx.MockTransport(handler))
    assert client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"}).request_id == "t1"
    assert str(seen[0].url) == f"{EMU}/api/v1/services/aigc/video-generation/video-synthesis"
    assert seen[0].headers["authorization"] == "Bearer emulator-key"


def test_fal_clients_share_the_jwks_cache_per_url(provider_settings):
    a, b = registry.client_for("fal"), registry.client_for("fal")
    assert a.jwks_cache is b.jwks_cache
    provider_settings.FAL_KEY = "fal-real"
    assert registry.client_for("fal").jwks_cache is not a.jwks_cache


def test_unknown_provider_is_a_key_error(provider_settings):
    with pytest.raises(KeyError):
        registry.client_for("replicate")
    with pytest.raises(KeyError):
        registry.provider_is_emulated("replicate")


def test_local_is_never_emulated(provider_settings):
    assert registry.provider_is_emulated("local") is False
    assert registry.provider_is_emulated("local", livemode=False) is False


def test_local_maps_to_the_local_client(provider_settings):
    from providers.clients.local import LocalClient

    client = registry.client_for("local")
    assert isinstance(client, LocalClient)
    client.close()


def test_clients_of_one_account_share_one_long_lived_pool(provider_settings):
    a, b = registry.client_for("fal"), registry.client_for("fal")
    assert a is not b and a._http is b._http  # light client objects, one connection pool
    with a:
        pass
    a.close()
    assert not b._http.is_closed  # leaving a ``with`` block does not close the shared pool
    assert registry.client_for("fal", livemode=False)._http is a._http  # both emulated: one account
    provider_settings.FAL_KEY = "fal-real"
    assert registry.client_for("fal")._http is not a._http  # the real account has its own pool
    assert registry.client_for("wavespeed")._http is not a._http


def test_every_pool_verifies_tls_with_the_one_ssl_context(provider_settings):
    from providers.clients.base import shared_ssl_context

    provider_settings.DASHSCOPE_API_KEY = "sk-real"
    contexts = {id(registry.client_for(p)._http._transport._pool._ssl_context)
                for p in ("wavespeed", "fal", "dashscope")}
    assert contexts == {id(shared_ssl_context())}


def test_calls_reuse_one_kept_alive_connection(provider_settings):
    """Real HTTP: twenty status calls through twenty client objects open one TCP connection."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    peers: set[int] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            peers.add(self.client_address[1])
            body = json.dumps({"request_id": "r", "output": {"task_id": "t1", "task_status": "RUNNING"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider_settings.PROVIDER_EMULATOR_URL = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for _ in range(20):
            with registry.client_for("dashscope") as client:
                assert client.poll(handle={"request_id": "t1"}).state == "running"
    finally:
        server.shutdown()
        server.server_close()
    assert len(peers) == 1
