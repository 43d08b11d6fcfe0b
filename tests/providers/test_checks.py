from providers.checks import public_base_url_reachable


def test_loopback_public_url_is_flagged_only_for_real_providers(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    settings.WAVESPEED_API_KEY = settings.FAL_KEY = settings.DASHSCOPE_API_KEY = ""
    assert public_base_url_reachable(None) == []  # all emulated: loopback is fine
    settings.FAL_KEY = "real-key"
    (warning,) = public_base_url_reachable(None)
    assert warning.id == "providers.W001" and "fal" in warning.msg
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    assert public_base_url_reachable(None) == []
