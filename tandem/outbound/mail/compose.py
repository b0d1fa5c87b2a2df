"""A claimed mail to a MIME message: plain text first, the HTML as its alternative.

Templates live beside this module (`<kind>.txt`, `<kind>.html`); HTML is autoescaped,
so a user's name is text wherever it appears. Undefined values are errors, never blanks.
Links are built here from PUBLIC_URL; the only secret any mail holds is a reset token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import urlencode

import jinja2

from tandem.domain.mail.records import ClaimedMail, MailKind

PRODUCT = "Tandem"
SUBJECTS = {
    MailKind.WELCOME: "Welcome to {product}",
    MailKind.PASSWORD_RESET: "Reset your {product} password",
    MailKind.WEBHOOKS_DISABLED: "Your {product} webhooks were turned off",
    MailKind.NO_ACCOUNT: "Reset your {product} password",  # what was asked, either way
}
RESET_PATH = "/reset-password"


# RFC 5322's limit on a line; every line a template renders is far below it.
MAX_LINE = 998


def text_encoding(text: str) -> str:
    """7bit (or 8bit, for non-ASCII) as the text was written, never quoted-printable:
    whoever copies the link from the raw `.eml` gets it whole (no `=3D`, no soft break).
    The rare line too long for that falls back to quoted-printable."""
    if any(len(line.encode()) > MAX_LINE for line in text.splitlines()):
        return "quoted-printable"
    return "7bit" if text.isascii() else "8bit"


class Composer:
    def __init__(self, *, public_url: str, sender: str, product: str = PRODUCT) -> None:
        self._public_url = public_url.rstrip("/")
        self._sender = sender
        self._product = product
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self._msgid_domain = domain
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("tandem.outbound.mail", "templates"),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def links(self, mail: ClaimedMail) -> dict[str, str]:
        links = {"public_url": self._public_url}
        if mail.kind is MailKind.PASSWORD_RESET:
            query = urlencode({"token": mail.params["token"]})
            links["reset_url"] = f"{self._public_url}{RESET_PATH}?{query}"
        return links

    def compose(self, mail: ClaimedMail) -> EmailMessage:
        """The message; jinja2 errors (a template bug) and KeyError (a missing value) raise."""
        context = {"product": self._product, **mail.params, **self.links(mail)}
        text = self._templates.get_template(f"{mail.kind.value}.txt").render(context)
        html = self._templates.get_template(f"{mail.kind.value}.html").render(context)
        message = EmailMessage()
        message["Subject"] = SUBJECTS[mail.kind].format(product=self._product)
        message["From"] = self._sender
        message["To"] = mail.to
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(f"mail.{mail.mail_id}", domain=self._msgid_domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
        message.set_content(text, cte=text_encoding(text))
        message.add_alternative(html, subtype="html", cte=text_encoding(html))
        return message
