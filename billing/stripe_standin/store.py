"""The stand-in's state and the API operations on it: customers, products, prices, billing meters
and meter events, subscriptions, checkout and portal sessions, invoices and events. One lock
guards everything; each operation answers a Stripe object or raises ``StripeApiError``."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import objects as o

# Stripe's test cards (https://docs.stripe.com/testing#cards and #declined-payments).
CARD_OK = {"4242424242424242", "5555555555554444"}
CARD_DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
}
_MONTH_S = 30 * 24 * 3600


class StripeApiError(Exception):
    """An answer in Stripe's error shape (https://docs.stripe.com/api/errors)."""

    def __init__(self, status: int, type: str, message: str, *, code: str | None = None,
                 param: str | None = None, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = o.error(type, message, code=code, param=param, decline_code=decline_code)


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeApiError:
    return StripeApiError(400, "invalid_request_error", message, param=param, code=code)


def missing(kind: str, ident: str, param: str = "id") -> StripeApiError:
    return StripeApiError(404, "invalid_request_error", f"No such {kind}: '{ident}'", code="resource_missing",
                          param=param)


def card_result(number: str | None) -> tuple[str, str, str] | None:
    """None when ``number`` pays; else (code, decline_code, message)."""
    digits = re.sub(r"\D", "", number or "")
    if digits in CARD_OK:
        return None
    if digits in CARD_DECLINES:
        return CARD_DECLINES[digits]
    return ("incorrect_number", "", "Your card number is incorrect.")


def _require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise invalid(f"Missing required param: {name}.", param=name)
    return value


def _metadata(params: dict[str, Any]) -> dict[str, str]:
    value = params.get("metadata") or {}
    return dict(value) if isinstance(value, dict) else {}


class Store:
    """Everything the stand-in knows. ``emit`` is called with each event created (webhooks)."""

    def __init__(self, base_url: str = "", emit: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.base_url = base_url
        self.emit_hook = emit
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict[str, Any]] = {}
            self.cards: dict[str, str] = {}  # customer id -> card number on file
            self.products: dict[str, dict[str, Any]] = {}
            self.prices: dict[str, dict[str, Any]] = {}
            self.meters: dict[str, dict[str, Any]] = {}
            self.meter_events: dict[str, dict[str, Any]] = {}  # identifier -> event
            self.meter_event_rejections = 0  # duplicates answered 400
            self.invoiced_identifiers: set[str] = set()
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.checkout_sessions: dict[str, dict[str, Any]] = {}
            self.portal_sessions: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.balance_transactions: dict[str, dict[str, Any]] = {}
            self.events: dict[str, dict[str, Any]] = {}
            self.idempotent: dict[str, tuple[int, Any]] = {}

    # -- a state that outlives the process ------------------------------------------------------
    # What Stripe keeps for ever (customers, products, prices, meters and their events, invoices...).
    # Idempotency keys are not kept: Stripe forgets them after 24 hours, this stand-in at a restart.
    _KEPT = ("customers", "cards", "products", "prices", "meters", "meter_events", "subscriptions",
             "checkout_sessions", "portal_sessions", "invoices", "balance_transactions", "events")

    def state(self) -> dict[str, Any]:
        """Everything kept, as JSON-able data (``restore`` takes it back)."""
        with self.lock:
            state = {name: copy.deepcopy(getattr(self, name)) for name in self._KEPT}
            state["invoiced_identifiers"] = sorted(self.invoiced_identifiers)
            state["meter_event_rejections"] = self.meter_event_rejections
            return state

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a ``state()``: a restarted stand-in knows the customers, meters and prices that
        the platform's database still names (``make run``, stopped and started again)."""
        with self.lock:
            self.reset()
            for name in self._KEPT:
                getattr(self, name).update(state.get(name, {}))
            self.invoiced_identifiers = set(state.get("invoiced_identifiers", []))
            self.meter_event_rejections = int(state.get("meter_event_rejections", 0))

    # -- events ---------------------------------------------------------------------------------
    def emit(self, type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        event = o.event(type=type, obj=public(obj), previous_attributes=previous)
        self.events[event["id"]] = event
        if self.emit_hook:
            self.emit_hook(copy.deepcopy(event))
        return event

    # -- customers: https://docs.stripe.com/api/customers ---------------------------------------
    def customer_create(self, p: dict[str, Any]) -> dict[str, Any]:
        c = o.customer(email=p.get("email"), name=p.get("name"), description=p.get("description"),
                       metadata=_metadata(p))
        self.customers[c["id"]] = c
        self.emit("customer.created", c)
        return c

    def customer_get(self, cid: str) -> dict[str, Any]:
        if cid not in self.customers:
            raise missing("customer", cid)
        return self.customers[cid]

    def customer_update(self, cid: str, p: dict[str, Any]) -> dict[str, Any]:
        c = self.customer_get(cid)
        for key in ("email", "name", "description"):
            if key in p:
                c[key] = p[key] or None
        if "metadata" in p:
            c["metadata"] = {**c["metadata"], **_metadata(p)}
            c["metadata"] = {k: v for k, v in c["metadata"].items() if v != ""}
        self.emit("customer.updated", c)
        return c

    # -- customer balance: https://docs.stripe.com/api/customer_balance_transactions ------------------
    def balance_transaction_create(self, cid: str, p: dict[str, Any]) -> dict[str, Any]:
        """A negative amount credits the customer (lowers what the next invoice asks for)."""
        c = self.customer_get(cid)
        try:
            amount = int(_require(p, "amount"))
        except ValueError:
            raise invalid("Invalid integer: amount", param="amount") from None
        currency = str(_require(p, "currency")).lower()
        if c["currency"] not in (None, currency):
            raise invalid(f"The customer's balance is in {c['currency']}, not {currency}.", param="currency")
        return self._balance_add(c, amount=amount, currency=currency, description=p.get("description"),
                                 metadata=_metadata(p), type="adjustment")

    def _balance_add(self, c: dict[str, Any], *, amount: int, currency: str, description: str | None,
                     metadata: dict[str, str], type: str, invoice: str | None = None) -> dict[str, Any]:
        c["balance"] += amount
        c["currency"] = currency
        txn = o.balance_transaction(customer=c["id"], amount=amount, currency=currency, description=description,
                                    metadata=metadata, ending_balance=c["balance"], type=type, invoice=invoice)
        self.balance_transactions[txn["id"]] = txn
        return txn

    def balance_transaction_list(self, cid: str) -> list[dict[str, Any]]:
        self.customer_get(cid)
        return [t for t in self.balance_transactions.values() if t["customer"] == cid]

    # -- products and prices: https://docs.stripe.com/api/products, /api/prices ---------------------
    def product_create(self, p: dict[str, Any]) -> dict[str, Any]:
        pid = p.get("id")
        if pid and pid in self.products:
            raise invalid("Product already exists.", param="id", code="resource_already_exists")
        prod = o.product(id=pid, name=_require(p, "name"), description=p.get("description"),
                         metadata=_metadata(p), unit_label=p.get("unit_label"))
        self.products[prod["id"]] = prod
        return prod

    def product_get(self, pid: str) -> dict[str, Any]:
        if pid not in self.products:
            raise missing("product", pid)
        return self.products[pid]

    def price_create(self, p: dict[str, Any]) -> dict[str, Any]:
        product = _require(p, "product")
        self.product_get(product)
        currency = str(_require(p, "currency")).lower()
        amount = p.get("unit_amount_decimal") or p.get("unit_amount")
        if amount in (None, ""):
            raise invalid("Missing required param: unit_amount.", param="unit_amount")
        recurring = None
        if isinstance(p.get("recurring"), dict):
            r = p["recurring"]
            usage_type = r.get("usage_type", "licensed")
            meter_id = r.get("meter")
            if usage_type == "metered" and not meter_id:
                raise invalid("Metered prices must be backed by a meter.", param="recurring[meter]")
            if meter_id and meter_id not in self.meters:
                raise missing("billing.meter", meter_id, "recurring[meter]")
            recurring = {"interval": _require(r, "interval"), "interval_count": int(r.get("interval_count", 1)),
                         "meter": meter_id, "usage_type": usage_type, "trial_period_days": None}
        lookup_key = p.get("lookup_key")
        if lookup_key:
            holder = next((x for x in self.prices.values() if x["lookup_key"] == lookup_key), None)
            if holder is not None:
                if p.get("transfer_lookup_key") not in ("true", True):
                    raise invalid(f"A price (`{holder['id']}`) already uses that lookup key.", param="lookup_key")
                holder["lookup_key"] = None
        price = o.price(product=product, currency=currency, unit_amount_decimal=str(amount), lookup_key=lookup_key,
                        recurring=recurring, nickname=p.get("nickname"), metadata=_metadata(p))
        self.prices[price["id"]] = price
        return price

    def price_list(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        found = list(self.prices.values())
        keys = p.get("lookup_keys")
        if keys is not None:
            keys = keys if isinstance(keys, list) else [keys]
            found = [x for x in found if x["lookup_key"] in keys]
        if "active" in p:
            found = [x for x in found if x["active"] == (p["active"] == "true")]
        if p.get("product"):
            found = [x for x in found if x["product"] == p["product"]]
        return found

    def price_search(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """Stripe's search query language, the ``field:'value'`` clauses joined by AND
        (https://docs.stripe.com/search#search-query-language)."""
        query = _require(p, "query")
        clauses = re.findall(r"(\w+(?:\['[^']*'\])?)\s*:\s*'([^']*)'", query)
        if not clauses:
            raise invalid(f"Unsupported search query: {query}", param="query")

        def matches(price: dict[str, Any]) -> bool:
            for field, value in clauses:
                meta = re.match(r"metadata\['([^']*)'\]", field)
                actual = price["metadata"].get(meta.group(1)) if meta else price.get(field)
                if isinstance(actual, bool):
                    actual = str(actual).lower()
                if actual != value:
                    return False
            return True

        return [x for x in self.prices.values() if matches(x)]

    # -- billing meters: https://docs.stripe.com/api/billing/meter --------------------------------
    def meter_create(self, p: dict[str, Any]) -> dict[str, Any]:
        event_name = _require(p, "event_name")
        if any(m["event_name"] == event_name and m["status"] == "active" for m in self.meters.values()):
            raise invalid(f"An active meter with event_name `{event_name}` already exists.", param="event_name")
        mapping = p.get("customer_mapping") or {}
        values = p.get("value_settings") or {}
        aggregation = _require(p, "default_aggregation")
        m = o.meter(display_name=_require(p, "display_name"), event_name=event_name,
                    customer_key=mapping.get("event_payload_key", "stripe_customer_id"),
                    value_key=values.get("event_payload_key", "value"), formula=aggregation.get("formula", "sum"))
        self.meters[m["id"]] = m
        return m

    def meter_list(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        status = p.get("status")
        return [m for m in self.meters.values() if not status or m["status"] == status]

    def meter_get(self, mid: str) -> dict[str, Any]:
        if mid not in self.meters:
            raise missing("billing.meter", mid)
        return self.meters[mid]

    # -- meter events: https://docs.stripe.com/api/billing/meter-event ------------------------------
    def meter_event_create(self, p: dict[str, Any]) -> dict[str, Any]:
        event_name = _require(p, "event_name")
        payload = p.get("payload")
        if not isinstance(payload, dict):
            raise invalid("Missing required param: payload.", param="payload")
        meter = next((m for m in self.meters.values()
                      if m["event_name"] == event_name and m["status"] == "active"), None)
        if meter is None:
            raise invalid(f"No active meter was found for event_name `{event_name}`.", param="event_name")
        customer_key = meter["customer_mapping"]["event_payload_key"]
        value_key = meter["value_settings"]["event_payload_key"]
        if not payload.get(customer_key):
            raise invalid(f"Missing `{customer_key}` in payload.", param=f"payload[{customer_key}]")
        if payload[customer_key] not in self.customers:
            raise missing("customer", payload[customer_key], f"payload[{customer_key}]")
        try:
            Decimal(str(payload.get(value_key, "")))
        except InvalidOperation:
            raise invalid(f"`{value_key}` in payload must be a number.", param=f"payload[{value_key}]") from None
        identifier = p.get("identifier") or o.new_id("", 32)
        if identifier in self.meter_events:
            # What Stripe answers a repeated identifier (unique within at least 24 hours): a 400
            # that must not be retried; the first event is kept and counted once.
            self.meter_event_rejections += 1
            raise invalid(f"An event already exists with identifier {identifier}.", param="identifier")
        timestamp = int(p.get("timestamp") or o.now())
        if timestamp < o.now() - 35 * 24 * 3600 or timestamp > o.now() + 300:
            raise invalid("Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
                          param="timestamp")
        event = o.meter_event(event_name=event_name, identifier=identifier, payload=dict(payload), timestamp=timestamp)
        self.meter_events[identifier] = event
        return event

    def meter_summaries(self, mid: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        """https://docs.stripe.com/api/billing/meter-event-summary/list"""
        meter = self.meter_get(mid)
        customer = _require(p, "customer")
        start, end = int(_require(p, "start_time")), int(_require(p, "end_time"))
        window = {"hour": 3600, "day": 86400}.get(p.get("value_grouping_window") or "", end - start or 1)
        values = self._meter_values(meter, customer)
        summaries = []
        for lo in range(start, end, window):
            hi = min(lo + window, end)
            total = sum((v for t, v, _ in values if lo <= t < hi), Decimal(0))
            summaries.append(o.meter_event_summary(meter_id=mid, start=lo, end=hi, value=total))
        return summaries

    def _meter_values(self, meter: dict[str, Any], customer: str) -> list[tuple[int, Decimal, str]]:
        ckey = meter["customer_mapping"]["event_payload_key"]
        vkey = meter["value_settings"]["event_payload_key"]
        return [(e["timestamp"], Decimal(e["payload"][vkey]), ident) for ident, e in self.meter_events.items()
                if e["event_name"] == meter["event_name"] and e["payload"].get(ckey) == customer]

    # -- subscriptions: https://docs.stripe.com/api/subscriptions -----------------------------------
    def subscription_create(self, p: dict[str, Any]) -> dict[str, Any]:
        customer = _require(p, "customer")
        self.customer_get(customer)
        items = p.get("items")
        if not isinstance(items, list) or not items:
            raise invalid("Missing required param: items.", param="items")
        return self._subscribe(customer, [self._price(i.get("price"), "items[0][price]") for i in items], _metadata(p))

    def _price(self, pid: str | None, param: str) -> dict[str, Any]:
        if not pid or pid not in self.prices:
            raise missing("price", pid or "", param)
        return self.prices[pid]

    def _subscribe(self, customer: str, prices: list[dict[str, Any]], metadata: dict[str, str]) -> dict[str, Any]:
        start = o.now()
        # Metered prices bill in arrears: nothing is due up front, so the subscription starts active.
        sub = o.subscription(customer=customer, prices=prices, metadata=metadata, status="active",
                             period_start=start, period_end=start + _MONTH_S)
        self.subscriptions[sub["id"]] = sub
        self.emit("customer.subscription.created", sub)
        return sub

    def subscription_get(self, sid: str) -> dict[str, Any]:
        if sid not in self.subscriptions:
            raise missing("subscription", sid)
        return self.subscriptions[sid]

    def subscription_cancel(self, sid: str) -> dict[str, Any]:
        sub = self.subscription_get(sid)
        sub.update(status="canceled", canceled_at=o.now(), ended_at=o.now())
        self.emit("customer.subscription.deleted", sub)
        return sub

    def _set_subscription_status(self, sub: dict[str, Any], status: str) -> None:
        if sub["status"] != status:
            previous = sub["status"]
            sub["status"] = status
            self.emit("customer.subscription.updated", sub, previous={"status": previous})

    # -- checkout: https://docs.stripe.com/api/checkout/sessions -------------------------------------
    def checkout_create(self, p: dict[str, Any]) -> dict[str, Any]:
        mode = _require(p, "mode")
        if mode != "subscription":
            raise invalid("The stand-in supports mode=subscription only.", param="mode")
        if not p.get("success_url"):
            raise invalid("Missing required param: success_url.", param="success_url")
        customer = p.get("customer")
        if customer:
            self.customer_get(customer)
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("Missing required param: line_items.", param="line_items")
        for i, item in enumerate(items):
            self._price(item.get("price"), f"line_items[{i}][price]")
        session = o.checkout_session(base_url=self.base_url, mode=mode, customer=customer,
                                     customer_email=p.get("customer_email"), line_items=items,
                                     success_url=p.get("success_url"), cancel_url=p.get("cancel_url"),
                                     client_reference_id=p.get("client_reference_id"), metadata=_metadata(p))
        self.checkout_sessions[session["id"]] = session
        return session

    def checkout_get(self, sid: str) -> dict[str, Any]:
        if sid not in self.checkout_sessions:
            raise missing("checkout.session", sid)
        return self.checkout_sessions[sid]

    def checkout_pay(self, sid: str, card_number: str, email: str | None) -> tuple[dict[str, Any], str | None]:
        """The hosted page's submit: (session, None) when completed, (session, decline message)."""
        session = self.checkout_get(sid)
        if session["status"] != "open":
            return session, "This Checkout Session is no longer active."
        refused = card_result(card_number)
        if refused is not None:
            return session, refused[2]
        customer = session["customer"]
        if not customer:
            customer = self.customer_create({"email": email or session["customer_email"]})["id"]
        self.cards[customer] = re.sub(r"\D", "", card_number)
        sub = self._subscribe(customer, [self.prices[i["price"]] for i in session["_line_items"]], session["metadata"])
        session.update(status="complete", payment_status="no_payment_required", customer=customer,
                       subscription=sub["id"], customer_details={"email": email, "name": None, "phone": None,
                                                                 "address": None, "tax_exempt": "none",
                                                                 "tax_ids": []})
        self.emit("checkout.session.completed", session)
        return session, None

    # -- customer portal: https://docs.stripe.com/api/customer_portal/sessions -------------------------
    def portal_create(self, p: dict[str, Any]) -> dict[str, Any]:
        customer = _require(p, "customer")
        self.customer_get(customer)
        session = o.portal_session(base_url=self.base_url, customer=customer, return_url=p.get("return_url"))
        self.portal_sessions[session["id"]] = session
        return session

    def portal_update_card(self, sid: str, card_number: str) -> tuple[dict[str, Any], str | None]:
        """The portal page's "update card": saves a card that works, then retries open invoices."""
        if sid not in self.portal_sessions:
            raise missing("billing_portal.session", sid)
        session = self.portal_sessions[sid]
        refused = card_result(card_number)
        if refused is not None:
            return session, refused[2]
        self.cards[session["customer"]] = re.sub(r"\D", "", card_number)
        for inv in list(self.invoices.values()):
            if inv["customer"] == session["customer"] and inv["status"] == "open":
                self._attempt_payment(inv)
        return session, None

    # -- invoices: https://docs.stripe.com/api/invoices -------------------------------------------------
    def invoice_get(self, iid: str) -> dict[str, Any]:
        if iid not in self.invoices:
            raise missing("invoice", iid)
        return self.invoices[iid]

    def invoice_list(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        found = sorted(self.invoices.values(), key=lambda i: i["created"], reverse=True)
        for key in ("customer", "subscription", "status"):
            if p.get(key):
                found = [i for i in found if (_invoice_subscription(i) if key == "subscription" else i[key]) == p[key]]
        return found

    def invoice_pay(self, iid: str) -> dict[str, Any]:
        inv = self.invoice_get(iid)
        if inv["status"] != "open":
            raise invalid("Invoice is already paid." if inv["status"] == "paid" else f"Invoice is {inv['status']}.",
                          code="invoice_not_open" if inv["status"] != "paid" else "invoice_already_paid")
        refused = self._attempt_payment(inv)
        if refused is not None:
            raise StripeApiError(402, "card_error", refused[2], code=refused[0], decline_code=refused[1] or None)
        return inv

    def _attempt_payment(self, inv: dict[str, Any]) -> tuple[str, str, str] | None:
        """Charge the customer's card on file for an open invoice; send invoice.paid or
        invoice.payment_failed, and move the subscription to active or past_due."""
        inv["attempt_count"] += 1
        inv["attempted"] = True
        sub = self.subscriptions.get(_invoice_subscription(inv) or "")
        card = self.cards.get(inv["customer"])
        refused = None if inv["amount_due"] == 0 else (
            card_result(card) if card else ("payment_method_missing", "", "The customer has no payment method."))
        if refused is None:
            inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0, next_payment_attempt=None)
            inv["status_transitions"]["paid_at"] = o.now()
            self.emit("invoice.paid", inv)
            self.emit("invoice.payment_succeeded", inv)
            if sub is not None and sub["status"] == "past_due":
                self._set_subscription_status(sub, "active")
        else:
            inv["next_payment_attempt"] = o.now() + 3 * 24 * 3600
            self.emit("invoice.payment_failed", inv)
            if sub is not None and sub["status"] == "active":
                self._set_subscription_status(sub, "past_due")
        return refused

    def _apply_balance(self, inv: dict[str, Any]) -> None:
        """As Stripe finalizes an invoice: the customer's balance (a credit when negative) is applied
        to it, and what is not used stays on the balance
        (https://docs.stripe.com/billing/customer/balance)."""
        c = self.customers[inv["customer"]]
        starting = c["balance"]
        if not starting:
            return
        due = inv["total"] + starting
        ending = min(due, 0)
        inv.update(starting_balance=starting, ending_balance=ending, amount_due=max(due, 0),
                   amount_remaining=max(due, 0))
        if ending != starting:
                self._balance_add(c, amount=ending - starting, currency=inv["currency"], description=None, metadata={},
                              type="applied_to_invoice", invoice=inv["id"])

    def close_period(self, customer: str | None = None) -> list[dict[str, Any]]:
        """The control endpoint's work: for each live subscription (of ``customer`` or all), sum its
        metered prices' uninvoiced meter events, invoice them, and charge the card on file."""
        made = []
        for sub in list(self.subscriptions.values()):
            if sub["status"] not in ("active", "past_due") or (customer and sub["customer"] != customer):
                continue
            item = sub["items"]["data"][0]
            start, end = item["current_period_start"], o.now()
            lines = []
            for si in sub["items"]["data"]:
                price = si["price"]
                meter_id = (price.get("recurring") or {}).get("meter")
                if not meter_id or meter_id not in self.meters:
                    continue
                values = [(v, ident) for _t, v, ident in self._meter_values(self.meters[meter_id], sub["customer"])
                          if ident not in self.invoiced_identifiers]
                quantity = int(sum((v for v, _ in values), Decimal(0)))
                self.invoiced_identifiers.update(ident for _v, ident in values)
                # Stripe's amounts are whole cents of the currency.
                amount = int((quantity * Decimal(price["unit_amount_decimal"])).quantize(Decimal(1), ROUND_HALF_UP))
                lines.append(o.invoice_line(price=price, quantity=quantity, amount=amount, period_start=start,
                                            period_end=end, subscription_id=sub["id"]))
            number = f"{self.customers[sub['customer']]['invoice_prefix']}-{len(self.invoices) + 1:04d}"
            inv = o.invoice(customer=sub["customer"], subscription=sub, lines=lines, period_start=start,
                            period_end=end, base_url=self.base_url, number=number)
            self._apply_balance(inv)
            self.invoices[inv["id"]] = inv
            sub["latest_invoice"] = inv["id"]
            for si in sub["items"]["data"]:
                si["current_period_start"], si["current_period_end"] = end, end + _MONTH_S
            self.emit("invoice.created", inv)
            self.emit("invoice.finalized", inv)
            self._attempt_payment(inv)
            made.append(inv)
        return made


def _invoice_subscription(inv: dict[str, Any]) -> str | None:
    parent = inv.get("parent") or {}
    return (parent.get("subscription_details") or {}).get("subscription")


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without the stand-in's private keys (``_line_items``)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
