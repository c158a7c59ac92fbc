"""Body fields that take JSON's types as the schema states them, no coercion: a string
field refuses 5, a boolean field refuses "true" and 1, an integer field refuses "5" and
5.0. DRF's own fields coerce, so the API would accept bodies its schema calls invalid.

`StrictModelSerializer` maps model fields to these; serializers deriving from it answer
400 `invalid` on the field for a value of the wrong JSON type (`invalid_choice` for a
choice given as anything but a string). The VM and image bodies (apps.api.resources.vm_inputs,
.images) use the same fields. A body field the serializer does not know is ignored, as DRF
does (the schema does not forbid additional properties)."""

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.filtersets import NO_NUL

MAX_ID = 2**63 - 1


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Give a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    # EmailField's own "invalid" (a malformed address), not StrictCharField's "Give a string."
    default_error_messages = {"invalid": serializers.EmailField.default_error_messages["invalid"]}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(StrictCharField.default_error_messages["invalid"], code="invalid")
        return serializers.EmailField.to_internal_value(self, data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Give true or false."}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Give a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given with the choices' JSON type: DRF's own compares str(value),
    so 7 would match a choice "7" and True one "True"."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not any(isinstance(data, type(key)) for key in self.choices):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "maxLength": 64, "pattern": NO_NUL},
        ]
    }
)
class IdOrNameField(serializers.Field):
    """An object given by its id (a whole number from 1) or its name (a string of at most 64
    characters); the service looks it up (passed as text: "7" is the id 7 as well)."""

    default_error_messages = {"invalid": "Give an id (a whole number from 1) or a name."}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and 1 <= data <= MAX_ID:
            return str(data)
        if not isinstance(data, str) or len(data) > 64 or "\x00" in data:  # PostgreSQL holds no NUL
            self.fail("invalid")
        return data.strip()  # "" too, as the schema allows: the service says what it means there

    def to_representation(self, value):
        return value


class QueryChoiceField(StrictChoiceField):
    """A query parameter's choice: given empty (`?range=`) it is refused like any other value
    that is not a choice (DRF takes an empty form value of an optional field as absent, so
    the default), as the schema allows no empty value; left out, it is the default."""

    def get_value(self, dictionary):
        if dictionary.get(self.field_name, None) == "":
            return ""
        return super().get_value(dictionary)


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.PositiveBigIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
    }
    serializer_choice_field = StrictChoiceField
