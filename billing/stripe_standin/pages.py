"""The stand-in's hosted pages, where a person acts as on Stripe's: Checkout (type a card to start
the subscription), the Customer Portal (replace the card, see invoices) and a hosted invoice."""

from __future__ import annotations

import html
from typing import Any

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;color:#1a1f36}"
          "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem}"
          "button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;background:#635bff;color:#fff;border:0;"
          "border-radius:4px}.error{color:#df1b41}.note{color:#697386;font-size:.85rem}"
          "table{width:100%;border-collapse:collapse}td{padding:.3rem 0;border-bottom:1px solid #e3e8ee}")


def _page(title: str, body: str) -> bytes:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}"
            '<p class="note">Stripe stand-in (test mode). Test cards: 4242 4242 4242 4242 pays; '
            "4000 0000 0000 0002 is declined.</p></body></html>").encode()


def _card_fields(email: str | None = None) -> str:
    email_field = ("" if email is None else
                   '<label for="email">Email</label>'
                   f'<input id="email" name="email" type="email" value="{html.escape(email)}">')
    return (email_field +
            '<label for="cardNumber">Card number</label>'
            '<input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number"'
            ' placeholder="1234 1234 1234 1234" required>'
            '<label for="cardExpiry">Expiration</label>'
            '<input id="cardExpiry" name="cardExpiry" placeholder="MM / YY" required>'
            '<label for="cardCvc">CVC</label><input id="cardCvc" name="cardCvc" placeholder="CVC" required>')


def checkout_page(session: dict[str, Any], prices: list[dict[str, Any]], error: str | None = None) -> bytes:
    if session["status"] != "open":
        return _page("Checkout", "<h1>This checkout session is complete.</h1>")
    rows = "".join(f"<tr><td>{html.escape(p.get('nickname') or p['id'])}</td>"
                   f"<td>{html.escape(p['unit_amount_decimal'])}¢ per unit, billed monthly by usage</td></tr>"
                   for p in prices)
    err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _page("Subscribe", f"<h1>Subscribe</h1><table>{rows}</table>{err}"
                              f'<form method="post" action="/c/pay/{session["id"]}">'
                              f'{_card_fields(session.get("customer_email") or "")}'
                              '<button type="submit" id="submit">Subscribe</button></form>')


def portal_page(session: dict[str, Any], invoices: list[dict[str, Any]], card: str | None,
                message: str | None = None, error: str | None = None) -> bytes:
    rows = "".join(f"<tr><td>{html.escape(i['number'] or i['id'])}</td><td>${i['amount_due'] / 100:.2f}</td>"
                   f"<td>{html.escape(i['status'])}</td></tr>" for i in invoices)
    rows = rows or "<tr><td>No invoices yet.</td></tr>"
    on_file = f"Card on file: •••• {html.escape(card[-4:])}" if card else "No card on file."
    notes = (f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "") + (
        f"<p>{html.escape(message)}</p>" if message else "")
    back = (f'<p><a href="{html.escape(session["return_url"])}">Return</a></p>' if session.get("return_url") else "")
    return _page("Billing", f"<h1>Billing</h1>{notes}<h2>Payment method</h2><p>{on_file}</p>"
                            f'<form method="post" action="/p/session/{session["id"]}">{_card_fields()}'
                            '<button type="submit" id="submit">Update card</button></form>'
                            f"<h2>Invoices</h2><table>{rows}</table>{back}")


def invoice_page(invoice: dict[str, Any]) -> bytes:
    lines = "".join(f"<tr><td>{html.escape(line['description'])}</td><td>${line['amount'] / 100:.2f}</td></tr>"
                    for line in invoice["lines"]["data"])
    return _page(f"Invoice {invoice['number']}",
                 f"<h1>Invoice {html.escape(invoice['number'])}</h1><table>{lines}</table>"
                 f"<p>Total ${invoice['total'] / 100:.2f} · {html.escape(invoice['status'])}</p>")
