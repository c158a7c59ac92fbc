"""Form widgets shared by the admin and the web UI."""

from django import forms


class SecretTextarea(forms.Textarea):
    """A textarea that never renders its value back (a private key: asked for once, never shown)."""

    def format_value(self, value):
        return None
