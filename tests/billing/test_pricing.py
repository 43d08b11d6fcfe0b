"""Price arithmetic (billing.money, billing.pricing) and the usage record (billing.services).

Money is Decimal, rounded once, to the cent, HALF_UP. The catalogue's real price rules are used,
so a changed figure in the catalogue shows up here as a failing, named expectation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.actors import Actor
from accounts.models import Role
from billing.models import UsageRecord
from billing.money import to_cents
from billing.pricing import billable_seconds, price_for_tenant, rule_multiplier
from billing.services import usage_record_create as billing_usage_record_create
from jobs.models import Asset, Job
from jobs.services import job_create
from providers.catalogue import PriceRule, catalogue_get, catalogue_list

CENT = Decimal("0.01")
S2V = catalogue_get(model_id="wavespeed-ai/wan-2.2/speech-to-video").pricing
MULTITALK = catalogue_get(model_id="wavespeed-ai/wan-2.1/multitalk").pricing
FAL = catalogue_get(model_id="fal-ai/ai-avatar").pricing
DASHSCOPE = catalogue_get(model_id="dashscope/wan2.7-r2v").pricing
RULES = {e.id: e.pricing for e in catalogue_list()}

seconds_st = st.decimals(min_value=Decimal("0"), max_value=Decimal("900"), places=3, allow_nan=False,
                         allow_infinity=False)
multiplier_st = st.decimals(min_value=Decimal("0"), max_value=Decimal("10"), places=3, allow_nan=False,
                            allow_infinity=False)
rule_st = st.sampled_from(sorted(RULES)).map(RULES.__getitem__)


def inputs_for(rule: PriceRule, resolution: str | None = None, frames: int | None = None) -> dict:
    out: dict = {}
    if rule.resolution_field and resolution:
        out[rule.resolution_field] = resolution
    if rule.frames_field and frames is not None:
        out[rule.frames_field] = frames
    return out


def price(rule: PriceRule, seconds: str | Decimal, *, multiplier: str = "1", input_video: str = "0", **inputs):
    return price_for_tenant(rule=rule, inputs=inputs, seconds=Decimal(seconds), price_multiplier=Decimal(multiplier),
                            input_video_seconds=Decimal(input_video))


# --- to_cents ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("0.005", "0.01"), ("0.004", "0.00"), ("0.0049999", "0.00"), ("0.015", "0.02"), ("0.025", "0.03"),
        ("1.005", "1.01"), ("2.675", "2.68"), ("0.125", "0.13"), ("10", "10.00"), ("0", "0.00"),
        ("-0.005", "-0.01"), ("123456.785", "123456.79"),
    ],
)
def test_to_cents_rounds_half_up(amount, cents):
    result = to_cents(Decimal(amount))
    assert result == Decimal(cents)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("bad", [0.15, 1, "0.15", None])
def test_to_cents_refuses_anything_but_decimal(bad):
    with pytest.raises(TypeError):
        to_cents(bad)


@given(st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=6, allow_nan=False))
def test_to_cents_is_within_half_a_cent(amount):
    result = to_cents(amount)
    assert abs(result - amount) <= Decimal("0.005")
    assert result.as_tuple().exponent == -2
    assert to_cents(result) == result


# --- properties of billable_seconds and price_for_tenant -------------------------------------------
@given(rule=rule_st, seconds=seconds_st, extra=seconds_st)
def test_billable_seconds_properties(rule, seconds, extra):
    billed = billable_seconds(rule=rule, seconds=seconds)
    assert billed >= 0
    assert billed >= rule.minimum_s
    if rule.maximum_s is not None:
        assert billed <= rule.maximum_s
    within = seconds >= rule.minimum_s and (rule.maximum_s is None or seconds <= rule.maximum_s)
    if within:  # started increments: never less than the video, less than one increment more
        assert seconds <= billed < seconds + rule.increment_s
        assert billed % rule.increment_s == 0 or billed == rule.maximum_s
    elif seconds < rule.minimum_s:
        assert billed == rule.minimum_s
    else:
        assert billed == rule.maximum_s
    assert billable_seconds(rule=rule, seconds=seconds + extra) >= billed  # monotonic


@given(rule=rule_st, seconds=seconds_st, input_video=seconds_st)
def test_input_video_seconds_never_lower_the_bill(rule, seconds, input_video):
    alone = billable_seconds(rule=rule, seconds=seconds)
    both = billable_seconds(rule=rule, seconds=seconds, input_video_seconds=input_video)
    assert both >= alone
    if rule.bills_input_video:
        assert both == billable_seconds(rule=rule, seconds=seconds + input_video)
    else:
        assert both == alone


@given(rule=rule_st, seconds=seconds_st, extra=seconds_st, tenant_multiplier=multiplier_st,
       resolution=st.sampled_from(["480p", "720p", "720P", "1080P", None]),
       frames=st.one_of(st.none(), st.integers(min_value=41, max_value=241)))
def test_price_properties(rule, seconds, extra, tenant_multiplier, resolution, frames):
    inputs = inputs_for(rule, resolution, frames)
    quoted = price_for_tenant(rule=rule, inputs=inputs, seconds=seconds, price_multiplier=tenant_multiplier)
    assert quoted.amount >= 0
    assert quoted.amount == quoted.amount.quantize(CENT) and quoted.amount.as_tuple().exponent == -2
    assert quoted.currency == rule.currency == "usd"
    assert quoted.amount == to_cents(quoted.billable_seconds * rule.per_second * quoted.multiplier
                                     * tenant_multiplier)
    longer = price_for_tenant(rule=rule, inputs=inputs, seconds=seconds + extra, price_multiplier=tenant_multiplier)
    assert longer.amount >= quoted.amount  # monotonic in seconds
    if rule.maximum_s is not None:
        cap = price_for_tenant(rule=rule, inputs=inputs, seconds=rule.maximum_s, price_multiplier=tenant_multiplier)
        assert quoted.amount <= cap.amount  # the maximum bounds the price
    floor = price_for_tenant(rule=rule, inputs=inputs, seconds=Decimal("0"), price_multiplier=tenant_multiplier)
    assert quoted.amount >= floor.amount
    assert floor.billable_seconds == rule.minimum_s


@given(rule=rule_st, seconds=seconds_st, low=multiplier_st, high=multiplier_st)
def test_price_is_monotonic_in_the_tenant_multiplier(rule, seconds, low, high):
    assume(low <= high)
    a = price_for_tenant(rule=rule, inputs={}, seconds=seconds, price_multiplier=low)
    b = price_for_tenant(rule=rule, inputs={}, seconds=seconds, price_multiplier=high)
    assert a.amount <= b.amount


# --- WaveSpeed: "$0.15 per 5 seconds" ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "resolution", "amount"),
    [
        ("5", "480p", "0.15"),
        ("1", "480p", "0.15"),  # billed at least 5 s
        ("0.2", "480p", "0.15"),
        ("4.999", "480p", "0.15"),
        ("5.001", "480p", "0.18"),  # a started second
        ("7.2", "480p", "0.24"),  # 8 started seconds x $0.03
        ("10", "480p", "0.30"),
        ("120", "480p", "3.60"),
        ("130", "480p", "3.60"),  # capped at the model's 120 s maximum
        ("5", "720p", "0.30"),  # 720p x2
        ("1", "720p", "0.30"),
        ("7.2", "720p", "0.48"),
        ("120", "720p", "7.20"),
    ],
)
def test_wavespeed_speech_to_video(seconds, resolution, amount):
    assert price(S2V, seconds, resolution=resolution).amount == Decimal(amount)


def test_wavespeed_multitalk_has_no_resolution_multiplier_and_a_600_s_cap():
    assert price(MULTITALK, "7.2").amount == Decimal("0.24")
    assert price(MULTITALK, "7.2", resolution="720p").amount == Decimal("0.24")
    assert price(MULTITALK, "600").amount == Decimal("18.00")
    assert price(MULTITALK, "700").amount == Decimal("18.00")


# --- fal: 1.25x billing units above 81 frames ------------------------------------------------------
@pytest.mark.parametrize(
    ("frames", "resolution", "amount"),
    [
        (81, "480p", "0.80"),  # 3.24 s -> 4 s x $0.20
        (82, "480p", "1.00"),  # 3.28 s -> 4 s x $0.20 x 1.25
        (41, "480p", "0.40"),  # 1.64 s -> 2 s
        (145, "480p", "1.50"),  # 5.8 s -> 6 s x 0.20 x 1.25
        (241, "480p", "2.50"),  # 9.64 s -> 10 s x 0.20 x 1.25
        (81, "720p", "1.60"),
        (82, "720p", "2.00"),
    ],
)
def test_fal_frames_threshold(frames, resolution, amount):
    seconds = (Decimal(frames) / Decimal(25)).quantize(Decimal("0.001"))
    assert price(FAL, seconds, resolution=resolution, num_frames=frames).amount == Decimal(amount)


def test_fal_multiplier_boundary():
    assert rule_multiplier(rule=FAL, inputs={"num_frames": 81, "resolution": "480p"}) == Decimal("1")
    assert rule_multiplier(rule=FAL, inputs={"num_frames": 82, "resolution": "480p"}) == Decimal("1.25")
    assert rule_multiplier(rule=FAL, inputs={"num_frames": 82, "resolution": "720p"}) == Decimal("2.5")


# --- DashScope: input reference video is billed with the output -------------------------------------
def test_dashscope_bills_input_video_with_the_output():
    # Seed 004: duration 15 = input_video_duration 5 + output_video_duration 10.
    with_video = price(DASHSCOPE, "10", input_video="5")
    assert with_video.billable_seconds == Decimal("15")
    assert with_video.amount == Decimal("1.50")
    assert price(DASHSCOPE, "10").amount == Decimal("1.00")
    assert price(DASHSCOPE, "10", input_video="2.2").amount == Decimal("1.30")  # 12.2 -> 13 started s


def test_input_video_is_ignored_where_not_billed():
    assert price(S2V, "10", input_video="30").amount == price(S2V, "10").amount


# --- the tenant's multiplier ---------------------------------------------------------------------
def test_tenant_multiplier_applies_once_before_rounding():
    rule = PriceRule(per_second=Decimal("0.0125"), increment_s=Decimal("1"))
    result = price(rule, "1", multiplier="1.2")
    # 0.0125 x 1.2 = 0.015 -> 0.02; rounding the provider price first would give 0.01 x 1.2 -> 0.01.
    assert result.provider_amount == Decimal("0.0125")
    assert result.amount == Decimal("0.02")
    assert result.price_multiplier == Decimal("1.2")


@pytest.mark.parametrize("multiplier", ["2", "1.5", "0.5", "1.333"])
def test_tenant_multiplier_is_applied_exactly_once(multiplier):
    base = price(S2V, "7.2")
    scaled = price(S2V, "7.2", multiplier=multiplier)
    assert scaled.provider_amount == base.provider_amount  # the provider price is the provider's
    assert scaled.amount == to_cents(base.provider_amount * Decimal(multiplier))


# --- quote and charge ---------------------------------------------------------------------------
@pytest.fixture
def actor(tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.MEMBER)


def make_asset(tenant, kind: str, seconds: Decimal | None = None) -> Asset:
    return Asset.objects.create(
        tenant=tenant, kind=kind, file=f"tenants/{tenant.id}/assets/x", extension=".bin", content_type="x/x",
        size_bytes=1, sha256="0" * 64, duration_s=seconds, width=320 if kind != "audio" else None,
        height=240 if kind != "audio" else None,
    )


def make_job(tenant, actor, seconds: Decimal, model: str = "wavespeed-ai/wan-2.2/speech-to-video", **extra) -> Job:
    image = make_asset(tenant, "image")
    audio = make_asset(tenant, "audio", seconds)
    return job_create(tenant=tenant, actor=actor, model_id=model,
                      inputs={"image": str(image.id), "audio": str(audio.id), **extra})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("120"), places=3),
       resolution=st.sampled_from(["480p", "720p"]), tenant_multiplier=st.sampled_from(["1", "1.25", "0.8", "2.5"]))
def test_quote_from_the_audio_equals_the_charge_for_the_same_duration(tenant, actor, seconds, resolution,
                                                                      tenant_multiplier):
    tenant.price_multiplier = Decimal(tenant_multiplier)
    tenant.save()
    job = make_job(tenant, actor, seconds, resolution=resolution)
    assert job.quote_seconds == seconds
    assert job.quote_amount == price(S2V, seconds, multiplier=tenant_multiplier, resolution=resolution).amount
    with transaction.atomic():
        record = usage_record_create(job=job, seconds=seconds)
    assert record.amount == job.quote_amount
    assert not record.capped_by_quote
    assert record.billable_seconds == billable_seconds(rule=S2V, seconds=seconds)
    assert record.livemode is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quoted=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("120"), places=3),
       delivered=st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=3))
def test_the_charge_never_exceeds_the_quote(tenant, actor, quoted, delivered):
    job = make_job(tenant, actor, quoted)
    with transaction.atomic():
        record = usage_record_create(job=job, seconds=delivered)
    assert 0 <= record.amount <= job.quote_amount
    assert record.amount == min(job.quote_amount, price(S2V, delivered).amount)
    assert record.capped_by_quote == (price(S2V, delivered).amount > job.quote_amount)
    assert record.seconds == delivered  # the ledger keeps what was delivered, capped or not


def test_fal_quote_is_read_from_the_frames(tenant, actor):
    image = make_asset(tenant, "image")
    audio = make_asset(tenant, "audio", Decimal("9"))  # longer than the 3.28 s of frames: the frames decide
    job = job_create(tenant=tenant, actor=actor, model_id="fal-ai/ai-avatar",
                     inputs={"image_url": str(image.id), "audio_url": str(audio.id), "prompt": "Talk.",
                             "num_frames": 82})
    assert job.quote_seconds == Decimal("3.28")
    assert job.quote_amount == Decimal("1.00")
    record = usage_record_create(job=job, seconds=Decimal("3.28"))
    assert record.amount == job.quote_amount


def test_fal_integral_float_frames_are_priced_like_the_integer(tenant, actor):
    """JSON Schema counts 145.0 as an integer, so the API accepts it; the 1.25x above 81 frames must
    apply to it as to 145 (or the input must be refused)."""
    image = make_asset(tenant, "image")
    audio = make_asset(tenant, "audio", Decimal("5"))
    inputs = {"image_url": str(image.id), "audio_url": str(audio.id), "prompt": "Talk."}
    as_int = job_create(tenant=tenant, actor=actor, model_id="fal-ai/ai-avatar", inputs={**inputs, "num_frames": 145})
    assert as_int.quote_amount == Decimal("1.50")
    try:
        as_float = job_create(tenant=tenant, actor=actor, model_id="fal-ai/ai-avatar",
                              inputs={**inputs, "num_frames": 145.0})
    except ValidationError as exc:
        assert "input.num_frames" in exc.message_dict
        return
    assert as_float.quote_amount == as_int.quote_amount
    assert usage_record_create(job=as_float, seconds=Decimal("5.8")).amount == Decimal("1.50")


def test_dashscope_quote_includes_the_reference_video(tenant, actor):
    image = make_asset(tenant, "image")
    video = make_asset(tenant, "video", Decimal("5"))
    job = job_create(tenant=tenant, actor=actor, model_id="dashscope/wan2.7-r2v", inputs={
        "prompt": "Image 1 dances like Video 1.", "duration": 10,
        "media": [{"type": "reference_image", "url": str(image.id)}, {"type": "reference_video", "url": str(video.id)}],
    })
    assert job.quote_amount == Decimal("1.50")  # (5 + 10) s x $0.10
    record = usage_record_create(job=job, seconds=Decimal("10"), input_video_seconds=Decimal("5"))
    assert record.amount == Decimal("1.50") and record.billable_seconds == Decimal("15")


def test_one_usage_record_per_job(tenant, actor):
    job = make_job(tenant, actor, Decimal("7.2"))
    first = usage_record_create(job=job, seconds=Decimal("7.2"))
    assert first.amount == Decimal("0.24")
    with pytest.raises(IntegrityError), transaction.atomic():
        usage_record_create(job=job, seconds=Decimal("7.2"))
    assert UsageRecord.objects.filter(job=job).count() == 1
    assert UsageRecord.objects.get(job=job).amount == Decimal("0.24")


def test_usage_record_follows_the_job(tenant, actor):
    job = make_job(tenant, actor, Decimal("5"))
    record = usage_record_create(job=job, seconds=Decimal("4.5"))
    assert record.tenant_id == tenant.id and record.model_id == job.model_id and record.currency == "usd"
    assert record.unit_price == S2V.per_second and record.price_multiplier == tenant.price_multiplier
    assert record.amount == Decimal("0.15")


def usage_record_create(*, job, seconds: Decimal, input_video_seconds: Decimal = Decimal("0")) -> UsageRecord:
    """Meter ``job`` as the job layer does: billing is given the job's plain values."""
    return billing_usage_record_create(
        tenant=job.tenant, job_id=job.id, model_id=job.model_id, livemode=job.livemode, inputs=job.input,
        quote_amount=job.quote_amount, seconds=seconds, input_video_seconds=input_video_seconds,
    )
