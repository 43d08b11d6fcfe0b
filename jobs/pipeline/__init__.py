"""The worker side of a job, one module per step of its life.

A job moves ``queued → submitting → running → finalizing → succeeded`` (or ``failed`` /
``canceled``); every move is a compare-and-set in ``jobs/transitions.py``, so running a step
twice, or a webhook racing a poll, changes nothing the second time. HTTP is never done inside a
transaction, and a provider client never touches the ORM.

- ``capacity``: whether a queued job may take one of its provider account's slots (fair sharing).
- ``provider_client``: the provider client a job's steps use (its mode: real or emulated).
- ``provider_inputs``: the job's input with asset ids turned into signed URLs; its webhook URL.
- ``submit``: queued → submitting → running, and what each submit error does to the job.
- ``progress``: running → finalizing (or failed / canceled), from a poll, a webhook or a
  submit that finished at once.
- ``output_download``: fetching the provider's video through the outbound-URL policy.
- ``finalize``: finalizing → succeeded: store and probe the video, meter it.
- ``provider_cancel``: asking the provider to stop a canceled job's task.
- ``dispatch``: the poller's claim of due jobs and the step each one is handed to.
- ``outcomes``: how a step ends when the job does not advance (failed, retried later).
"""
