"""`UNSET`: the default of a service's optional keyword that means "not given, leave as is"
(None is a value: "no limit", "no reseller")."""

from enum import Enum


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self):
        return "UNSET"


UNSET = _Unset.UNSET
Unset = _Unset
