# Generated from fabrikate/schemas/component.schema.json by fastjsonschema: do not edit.
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

def validate_urn_fabrikate_gitops_schema_component_1(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "name" in data_keys:
            data_keys.remove("name")
            data__name = data["name"]
            if not isinstance(data__name, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".name must be string")
        if "type" in data_keys:
            data_keys.remove("type")
            data__type = data["type"]
            if not isinstance(data__type, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".type must be string")
            if not (isinstance(data__type, str) and data__type == 'component' or isinstance(data__type, str) and data__type == 'helm' or isinstance(data__type, str) and data__type == 'static'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".type must be one of ['component', 'helm', 'static']")
        if "generator" in data_keys:
            data_keys.remove("generator")
            data__generator = data["generator"]
            if not isinstance(data__generator, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".generator must be string")
            if not (isinstance(data__generator, str) and data__generator == 'component' or isinstance(data__generator, str) and data__generator == 'helm' or isinstance(data__generator, str) and data__generator == 'static'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".generator must be one of ['component', 'helm', 'static']")
        if "method" in data_keys:
            data_keys.remove("method")
            data__method = data["method"]
            if not isinstance(data__method, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".method must be string")
            if not (isinstance(data__method, str) and data__method == '' or isinstance(data__method, str) and data__method == 'local' or isinstance(data__method, str) and data__method == 'git' or isinstance(data__method, str) and data__method == 'helm' or isinstance(data__method, str) and data__method == 'http'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".method must be one of ['', 'local', 'git', 'helm', 'http']")
        if "source" in data_keys:
            data_keys.remove("source")
            data__source = data["source"]
            if not isinstance(data__source, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".source must be string")
        if "path" in data_keys:
            data_keys.remove("path")
            data__path = data["path"]
            if not isinstance(data__path, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".path must be string")
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be string")
        if "branch" in data_keys:
            data_keys.remove("branch")
            data__branch = data["branch"]
            if not isinstance(data__branch, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".branch must be string")
        if "hooks" in data_keys:
            data_keys.remove("hooks")
            data__hooks = data["hooks"]
            if not isinstance(data__hooks, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".hooks must be object or null")
            data__hooks_is_dict = isinstance(data__hooks, dict)
            if data__hooks_is_dict:
                data__hooks_keys = set(data__hooks.keys())
                if "before-install" in data__hooks_keys:
                    data__hooks_keys.remove("before-install")
                    data__hooks__beforeinstall = data__hooks["before-install"]
                    validate___definitions_commands(data__hooks__beforeinstall, custom_formats, (name_prefix or "data") + ".hooks.before-install")
                if "after-install" in data__hooks_keys:
                    data__hooks_keys.remove("after-install")
                    data__hooks__afterinstall = data__hooks["after-install"]
                    validate___definitions_commands(data__hooks__afterinstall, custom_formats, (name_prefix or "data") + ".hooks.after-install")
                if "before-generate" in data__hooks_keys:
                    data__hooks_keys.remove("before-generate")
                    data__hooks__beforegenerate = data__hooks["before-generate"]
                    validate___definitions_commands(data__hooks__beforegenerate, custom_formats, (name_prefix or "data") + ".hooks.before-generate")
                if "after-generate" in data__hooks_keys:
                    data__hooks_keys.remove("after-generate")
                    data__hooks__aftergenerate = data__hooks["after-generate"]
                    validate___definitions_commands(data__hooks__aftergenerate, custom_formats, (name_prefix or "data") + ".hooks.after-generate")
                for data__hooks_key in data__hooks_keys:
                    if data__hooks_key not in ['before-install', 'after-install', 'before-generate', 'after-generate']:
                        data__hooks_value = data__hooks.get(data__hooks_key)
                        validate___definitions_commands(data__hooks_value, custom_formats, (name_prefix or "data") + ".hooks.{data__hooks_key}".format(**locals()))
        if "repositories" in data_keys:
            data_keys.remove("repositories")
            data__repositories = data["repositories"]
            if not isinstance(data__repositories, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".repositories must be object or null")
            data__repositories_is_dict = isinstance(data__repositories, dict)
            if data__repositories_is_dict:
                data__repositories_keys = set(data__repositories.keys())
                for data__repositories_key in data__repositories_keys:
                    if data__repositories_key not in []:
                        data__repositories_value = data__repositories.get(data__repositories_key)
                        if not isinstance(data__repositories_value, (str)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".repositories.{data__repositories_key}".format(**locals()) + " must be string")
        if "subcomponents" in data_keys:
            data_keys.remove("subcomponents")
            data__subcomponents = data["subcomponents"]
            if not isinstance(data__subcomponents, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".subcomponents must be array or null")
            data__subcomponents_is_list = isinstance(data__subcomponents, (list, tuple))
            if data__subcomponents_is_list:
                data__subcomponents_len = len(data__subcomponents)
                for data__subcomponents_x, data__subcomponents_item in enumerate(data__subcomponents):
                    validate(data__subcomponents_item, custom_formats, (name_prefix or "data") + ".subcomponents[{data__subcomponents_x}]".format(**locals()))
    return data

def validate(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object")
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data_keys = set(data.keys())
        if "name" in data_keys:
            data_keys.remove("name")
            data__name = data["name"]
            if not isinstance(data__name, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".name must be string")
        if "type" in data_keys:
            data_keys.remove("type")
            data__type = data["type"]
            if not isinstance(data__type, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".type must be string")
            if not (isinstance(data__type, str) and data__type == 'component' or isinstance(data__type, str) and data__type == 'helm' or isinstance(data__type, str) and data__type == 'static'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".type must be one of ['component', 'helm', 'static']")
        if "generator" in data_keys:
            data_keys.remove("generator")
            data__generator = data["generator"]
            if not isinstance(data__generator, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".generator must be string")
            if not (isinstance(data__generator, str) and data__generator == 'component' or isinstance(data__generator, str) and data__generator == 'helm' or isinstance(data__generator, str) and data__generator == 'static'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".generator must be one of ['component', 'helm', 'static']")
        if "method" in data_keys:
            data_keys.remove("method")
            data__method = data["method"]
            if not isinstance(data__method, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".method must be string")
            if not (isinstance(data__method, str) and data__method == '' or isinstance(data__method, str) and data__method == 'local' or isinstance(data__method, str) and data__method == 'git' or isinstance(data__method, str) and data__method == 'helm' or isinstance(data__method, str) and data__method == 'http'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".method must be one of ['', 'local', 'git', 'helm', 'http']")
        if "source" in data_keys:
            data_keys.remove("source")
            data__source = data["source"]
            if not isinstance(data__source, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".source must be string")
        if "path" in data_keys:
            data_keys.remove("path")
            data__path = data["path"]
            if not isinstance(data__path, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".path must be string")
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be string")
        if "branch" in data_keys:
            data_keys.remove("branch")
            data__branch = data["branch"]
            if not isinstance(data__branch, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".branch must be string")
        if "hooks" in data_keys:
            data_keys.remove("hooks")
            data__hooks = data["hooks"]
            if not isinstance(data__hooks, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".hooks must be object or null")
            data__hooks_is_dict = isinstance(data__hooks, dict)
            if data__hooks_is_dict:
                data__hooks_keys = set(data__hooks.keys())
                if "before-install" in data__hooks_keys:
                    data__hooks_keys.remove("before-install")
                    data__hooks__beforeinstall = data__hooks["before-install"]
                    validate___definitions_commands(data__hooks__beforeinstall, custom_formats, (name_prefix or "data") + ".hooks.before-install")
                if "after-install" in data__hooks_keys:
                    data__hooks_keys.remove("after-install")
                    data__hooks__afterinstall = data__hooks["after-install"]
                    validate___definitions_commands(data__hooks__afterinstall, custom_formats, (name_prefix or "data") + ".hooks.after-install")
                if "before-generate" in data__hooks_keys:
                    data__hooks_keys.remove("before-generate")
                    data__hooks__beforegenerate = data__hooks["before-generate"]
                    validate___definitions_commands(data__hooks__beforegenerate, custom_formats, (name_prefix or "data") + ".hooks.before-generate")
                if "after-generate" in data__hooks_keys:
                    data__hooks_keys.remove("after-generate")
                    data__hooks__aftergenerate = data__hooks["after-generate"]
                    validate___definitions_commands(data__hooks__aftergenerate, custom_formats, (name_prefix or "data") + ".hooks.after-generate")
                for data__hooks_key in data__hooks_keys:
                    if data__hooks_key not in ['before-install', 'after-install', 'before-generate', 'after-generate']:
                        data__hooks_value = data__hooks.get(data__hooks_key)
                        validate___definitions_commands(data__hooks_value, custom_formats, (name_prefix or "data") + ".hooks.{data__hooks_key}".format(**locals()))
        if "repositories" in data_keys:
            data_keys.remove("repositories")
            data__repositories = data["repositories"]
            if not isinstance(data__repositories, (dict, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".repositories must be object or null")
            data__repositories_is_dict = isinstance(data__repositories, dict)
            if data__repositories_is_dict:
                data__repositories_keys = set(data__repositories.keys())
                for data__repositories_key in data__repositories_keys:
                    if data__repositories_key not in []:
                        data__repositories_value = data__repositories.get(data__repositories_key)
                        if not isinstance(data__repositories_value, (str)):
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".repositories.{data__repositories_key}".format(**locals()) + " must be string")
        if "subcomponents" in data_keys:
            data_keys.remove("subcomponents")
            data__subcomponents = data["subcomponents"]
            if not isinstance(data__subcomponents, (list, tuple, NoneType)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".subcomponents must be array or null")
            data__subcomponents_is_list = isinstance(data__subcomponents, (list, tuple))
            if data__subcomponents_is_list:
                data__subcomponents_len = len(data__subcomponents)
                for data__subcomponents_x, data__subcomponents_item in enumerate(data__subcomponents):
                    validate(data__subcomponents_item, custom_formats, (name_prefix or "data") + ".subcomponents[{data__subcomponents_x}]".format(**locals()))
    return data

def validate___definitions_commands(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (list, tuple, NoneType)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be array or null")
    data_is_list = isinstance(data, (list, tuple))
    if data_is_list:
        data_len = len(data)
        for data_x, data_item in enumerate(data):
            if not isinstance(data_item, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + "[{data_x}]".format(**locals()) + " must be string")
    return data
