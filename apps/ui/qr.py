"""QR codes drawn on the server as inline SVG (the qrcode package): no script, no data: URI,
nothing the Content-Security-Policy has to allow."""

import re

import qrcode
import qrcode.image.svg
from django.utils.safestring import mark_safe


def qr_svg(text: str, label: str) -> str:
    """`text` as an inline <svg class="qr">, sized by CSS, with `label` for screen readers."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    markup = image.to_string(encoding="unicode")
    # The size comes from app.css (.qr); the viewBox keeps the proportions.
    markup = re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg class="qr" role="img"', markup, count=1)
    label = label.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    markup = markup.replace(">", f"><title>{label}</title>", 1)
    return mark_safe(markup)  # built from our own SVG and an escaped label
