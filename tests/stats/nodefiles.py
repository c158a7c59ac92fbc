"""Simulated hosts for statistics tests and bench/stats.py: libvirt test-driver node files.

``write_node(path, names)`` writes a ``<node>`` file whose domains (all running, as the
test driver starts every domain of a node file) carry the given names; open it as
``test:///<path>``. Each file is an independent host.
"""

from pathlib import Path
from xml.sax.saxutils import escape

DOMAIN = """  <domain type="test">
    <name>{name}</name>
    <memory>524288</memory><currentMemory>524288</currentMemory><vcpu>1</vcpu>
    <os><type arch="i686">hvm</type></os>
  </domain>
"""
NODE = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>16</cores><threads>1</threads>
    <active>16</active><mhz>2000</mhz><model>i686</model></cpu>
  <memory>1073741824</memory>
{domains}</node>
"""


def write_node(path: Path, names) -> str:
    """Write the node file and return its libvirt URI."""
    path.write_text(NODE.format(domains="".join(DOMAIN.format(name=escape(n)) for n in names)))
    return f"test://{path}"
