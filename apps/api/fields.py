"""Body fields that take JSON's types as the schema states them, no coercion: a string
field refuses 5, a boolean field refuses "true" and 1, an integer field refuses "5" and
5.0. DRF's own fields coerce, so the API would accept bodies its schema calls invalid.

`StrictModelSerializer` maps model fields to these; serializers deriving from it answer
400 `invalid` on the field for a value of the wrong JSON type."""

from django.db import models
from rest_framework import serializers


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
