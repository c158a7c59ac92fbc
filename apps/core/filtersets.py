"""What every list's filters share (the API's and the web UI's list pages use the same
FilterSet, NetBox's filtersets.py pattern): a query value is either one the database can
hold and the OpenAPI schema declares, or the filter is invalid and the list answers 400
naming the parameter (the API's error format, apps/api/errors.py).

- `IntegerFilter`: a whole number (no "0.5", no "1e3") within the column's range, by
  default the signed 64-bit range, refused before any query (past it SQLite raised
  OverflowError: a 500).
- `IdFilter`: an object id, 1 … 2**63-1. A well-formed id outside the caller's scope
  simply matches nothing: a filter never tells whether someone else's object exists.
- `DateTimeFilter`: an ISO 8601 date-time, compared in UTC (any offset ISO allows works).
- `StrictBooleanFilter`: `true` or `false` only, exactly (not "True", not " true"), as the
  schema says (django-filter's own reads "0", "1" and ignores anything else without a word).
- Text filters take any text but a NUL character (the schema gives the pattern); any other
  filter given empty (`?owner=`) is refused, since the schema allows no empty value there.

`BaseFilterSet` makes the filters Meta.fields generates for model fields these ones and
tells drf-spectacular the bounds, so the schema and the behaviour agree.
"""

import datetime
import re

import django_filters
from django import forms
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework.filterset import FILTER_FOR_DBFIELD_DEFAULTS

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_WHOLE = re.compile(r"[+-]?[0-9]+")
# Longer than any 64-bit number: refused before int() (which also stops at 4300 digits).
_MAX_DIGITS = 20


class WholeNumberField(forms.IntegerField):
    """An integer written as digits only: Django's IntegerField would take "1.0"."""

    default_error_messages = {"invalid": _("Enter a whole number.")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _WHOLE.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if len(text.lstrip("+-")) > _MAX_DIGITS:
            raise forms.ValidationError(
                _("Ensure this value is between %(min)s and %(max)s."),
                code="out_of_range",
                params={"min": self.min_value, "max": self.max_value},
            )
        return int(text)


class IntegerFilter(django_filters.NumberFilter):
    """An exact whole number between min_value and max_value (the schema says so too)."""

    field_class = WholeNumberField

    def __init__(self, *args, min_value=INT64_MIN, max_value=INT64_MAX, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)
        fits_int32 = -(2**31) <= min_value and max_value < 2**31
        schema = {"type": "integer", "format": "int32" if fits_int32 else "int64"}
        schema.update(minimum=min_value, maximum=max_value)
        if self.label:
            schema["description"] = str(self.label)
        # drf-spectacular reads this as @extend_schema_field would set it, per filter.
        self._spectacular_annotation = {"field": schema}


class IdFilter(IntegerFilter):
    """An object id: 1 … 2**63-1."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    default_error_messages = {"invalid": _("Enter true or false.")}
    VALUES = {"true": True, "false": False}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value)]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, given to the database in UTC: PostgreSQL refuses an offset past
    ±15:59 that ISO 8601 allows. One whose UTC falls before year 1 or after 9999 is taken as
    the earliest or latest moment: compared with any stored time, it means the same."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(datetime.UTC)
        except OverflowError:
            return EARLIEST if result.year == 1 else LATEST


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


def _column_range(field):
    """The range every supported database holds for this integer column."""
    low, high = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type(), (INT64_MIN, INT64_MAX))
    return {"min_value": max(low, INT64_MIN), "max_value": min(high, INT64_MAX)}


def _id_filter():
    return {"filter_class": IdFilter}


FILTER_DEFAULTS = {
    **FILTER_FOR_DBFIELD_DEFAULTS,  # django-filter's, with ISO 8601 date-times
    models.AutoField: _id_filter(),
    models.BigAutoField: _id_filter(),
    models.SmallIntegerField: {"filter_class": IntegerFilter, "extra": _column_range},
    models.IntegerField: {"filter_class": IntegerFilter, "extra": _column_range},
    models.PositiveIntegerField: {"filter_class": IntegerFilter, "extra": _column_range},
    models.PositiveSmallIntegerField: {"filter_class": IntegerFilter, "extra": _column_range},
    models.DateTimeField: {"filter_class": DateTimeFilter},
    models.BooleanField: {"filter_class": StrictBooleanFilter},
    models.NullBooleanField: {"filter_class": StrictBooleanFilter},
    # Relations by plain id, not a choice among every row of the table (which would
    # answer differently for an id that exists elsewhere and one that does not).
    models.ForeignKey: _id_filter(),
    models.OneToOneField: _id_filter(),
}


# PostgreSQL cannot hold a NUL character in text, and Django's form fields refuse it.
NO_NUL = "^[^\\x00]*$"


class BaseFilterSet(django_filters.FilterSet):
    """The base of every list's FilterSet (see the module's docstring)."""

    FILTER_DEFAULTS = FILTER_DEFAULTS

    @classmethod
    def get_filters(cls):
        """Every text filter tells the schema it takes no NUL character (it answers 400)."""
        filters = super().get_filters()
        for item in filters.values():
            if isinstance(item, django_filters.CharFilter) and not hasattr(item, "_spectacular_annotation"):
                schema = {"type": "string", "pattern": NO_NUL}
                if item.label:
                    schema["description"] = str(item.label)
                item._spectacular_annotation = {"field": schema}
        return filters

    @property
    def form(self):
        """The filters' form, with a present but empty value refused where the schema
        allows none: only text may be empty (no filter), an id, a number, a boolean, a
        choice or a date may not. The web UI's menus send "" for "any": its list pages use
        `.qs`, which leaves out what is invalid, so for them an empty value still means any."""
        if hasattr(self, "_form"):
            return self._form
        form = super().form
        if self.is_bound:
            blank = [
                name
                for name, item in self.filters.items()
                if not isinstance(item, django_filters.CharFilter) and self.data.get(name, None) == ""
            ]
            form.errors  # noqa: B018 (validate first: add_error needs cleaned_data)
            for name in blank:
                form.add_error(name, forms.ValidationError(_("Give a value or leave the parameter out."), code="blank"))
        return form
