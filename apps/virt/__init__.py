"""Hypervisor driver: the only package of the project that imports ``libvirt``.

No Django here. The public surface is ``Hypervisor`` (``driver``), the value
types (``types``), the XML helpers (``domain_xml``), the errors (``errors``),
connection-loss listeners (``connection.add_close_listener``) and lifecycle events
(``events``: ``Hypervisor.watch_lifecycle``).
"""
