"""Provider emulator: one HTTP server speaking WaveSpeed's, fal's queue and DashScope's APIs at
their real paths, so the platform's provider clients are tested over real HTTP offline.

Wire details follow the providers' public documentation (each provider module links the pages and
marks each detail *documented* or *unconfirmed*; ``docs/providers/`` describes the protocols as the
platform uses them). Tasks download their input URLs for real and render a real MP4 with the local
renderer, served at an expiring URL.

Where things live: ``config`` (EmulatorConfig), ``faults`` (fault injection), ``task_store`` (the
tasks and their lifecycle), ``tasks`` (a task, provider-neutral), ``input_fetch`` (downloading
inputs), ``rendering`` (the video and its expiring URL), ``webhooks`` (sending them), ``handler``
(the base of the provider modules ``wavespeed``, ``fal``, ``dashscope``), ``signing`` (webhook
signatures, file tokens), ``server`` (HTTP and the control endpoints).

Python API::

    from providers.emulator import EmulatorConfig, start_emulator

    emulator = start_emulator(EmulatorConfig(port=0, queued_s=0.1, running_s=0.3))
    emulator.url                      # http://127.0.0.1:<port>
    emulator.base_urls                # per provider: WaveSpeed/fal <url>, DashScope <url>/api/v1
    emulator.set_faults("fal", rate_limit=2, retry_after_s=1)
    emulator.requests, emulator.tasks, emulator.webhooks
    emulator.stop()

HTTP control endpoints (no auth): ``GET /_emulator/requests``, ``GET /_emulator/tasks``,
``GET /_emulator/webhooks``, ``GET|POST|DELETE /_emulator/faults`` (POST body: the faults below
plus ``"provider"``; DELETE ``?provider=`` clears one scope, none clears all), ``POST
/_emulator/reset``, ``GET /_emulator/health``; output files at ``GET /_emulator/files/<token>``;
fal's webhook key at ``GET /.well-known/jwks.json``.

Faults, scoped to one provider or ``all`` (the provider's scope is consumed first). Counted
faults apply to the provider's API calls only (submit, status, result, cancel; not files, JWKS or
the control endpoints), one fault per call, in this order:

- ``rate_limit: N`` -- the next N calls answer 429 in the provider's shape with
  ``Retry-After: <retry_after_s>`` (default 1 s); the call is not processed.
- ``server_error: N`` -- the next N calls answer ``server_error_status`` (default: WaveSpeed 500,
  fal 503 with ``X-Fal-Error-Type``, DashScope 500) in the provider's shape; not processed.
- ``malformed_json: N`` -- the next N calls answer 200 with a truncated JSON body; not processed.
- ``timeout: N`` -- the next N calls ARE processed (a submit creates its task) but the answer is
  held ``hang_s`` seconds (default ``EmulatorConfig.default_hang_s`` = 35 s, more than the
  platform's 30 s read timeout) before it is written.
- ``latency_s: X`` -- every API answer is delayed X seconds (the larger of the scopes' values).
- ``output_latency_s: X`` -- every output file download is held back X seconds (a slow delivery).
- ``fail_task: N`` -- the next N tasks submitted end failed (their inputs are still downloaded)
  with the provider's failure shape.
- ``expired_output: true`` -- output URLs minted while set are already expired, and every output
  file of the provider answers 403 while set.
- ``duplicate_webhook: true`` -- each webhook is delivered twice (same id, fresh timestamp and
  signature).
"""

from .config import PROVIDER_NAMES, EmulatorConfig
from .faults import FAULT_NAMES
from .server import RunningEmulator, start_emulator

__all__ = ["FAULT_NAMES", "PROVIDER_NAMES", "EmulatorConfig", "RunningEmulator", "start_emulator"]
