# Generated from fabrikate/schemas/config.schema.json by fastjsonschema: do not edit.
# Regenerate with `python scripts/schema-checks`; tests/unit/hld/test_model.py checks it is current.
# fmt: off
# ruff: noqa
# mypy: ignore-errors


class _Invalid(ValueError):
    def __init__(self, message, *args, **details):
        super().__init__(message)


class Decimal:  # no parsed YAML or JSON value is one
    pass


JsonSchemaValueException = JsonSchemaValuesException = _Invalid
VERSION = "2.22.3"


NoneType = type(None)

def validate_urn_fabrikate_gitops_schema_config_1(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "config" in data_keys:
            data_keys.remove("config")
            data__config = data["config"]
            if not isinstance(data__config, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".config must be object or null")
        if "namespace" in data_keys:
            data_keys.remove("namespace")
            data__namespace = data["namespace"]
            if not isinstance(data__namespace, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".namespace must be string or null")
        if "injectNamespace" in data_keys:
            data_keys.remove("injectNamespace")
            data__injectNamespace = data["injectNamespace"]
            if not isinstance(data__injectNamespace, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".injectNamespace must be boolean or null")
        if "disabled" in data_keys:
            data_keys.remove("disabled")
            data__disabled = data["disabled"]
            if not isinstance(data__disabled, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".disabled must be boolean or null")
        if "subcomponents" in data_keys:
            data_keys.remove("subcomponents")
            data__subcomponents = data["subcomponents"]
            if not isinstance(data__subcomponents, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".subcomponents must be object or null")
            data__subcomponents_is_dict = isinstance(data__subcomponents, dict)
            if data__subcomponents_is_dict:
                data__subcomponents_keys = set(data__subcomponents.keys())
                for data__subcomponents_key in data__subcomponents_keys:
                    if data__subcomponents_key not in []:
                        data__subcomponents_value = data__subcomponents.get(data__subcomponents_key)
                        validate(data__subcomponents_value, custom_formats, (name_prefix or "data") + ".subcomponents.{data__subcomponents_key}".format(**locals()))
    return data

def validate(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "config" in data_keys:
            data_keys.remove("config")
            data__config = data["config"]
            if not isinstance(data__config, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".config must be object or null")
        if "namespace" in data_keys:
            data_keys.remove("namespace")
            data__namespace = data["namespace"]
            if not isinstance(data__namespace, (str, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".namespace must be string or null")
        if "injectNamespace" in data_keys:
            data_keys.remove("injectNamespace")
            data__injectNamespace = data["injectNamespace"]
            if not isinstance(data__injectNamespace, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".injectNamespace must be boolean or null")
        if "disabled" in data_keys:
            data_keys.remove("disabled")
            data__disabled = data["disabled"]
            if not isinstance(data__disabled, (bool, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".disabled must be boolean or null")
        if "subcomponents" in data_keys:
            data_keys.remove("subcomponents")
            data__subcomponents = data["subcomponents"]
            if not isinstance(data__subcomponents, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".subcomponents must be object or null")
            data__subcomponents_is_dict = isinstance(data__subcomponents, dict)
            if data__subcomponents_is_dict:
                data__subcomponents_keys = set(data__subcomponents.keys())
                for data__subcomponents_key in data__subcomponents_keys:
                    if data__subcomponents_key not in []:
                        data__subcomponents_value = data__subcomponents.get(data__subcomponents_key)
                        validate(data__subcomponents_value, custom_formats, (name_prefix or "data") + ".subcomponents.{data__subcomponents_key}".format(**locals()))
    return data
