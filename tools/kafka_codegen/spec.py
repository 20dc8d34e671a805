"""Loading and validating Kafka's JSON message specs (common/message/*.json).

The specs are JSON with `//` comments. They are parsed strictly after the comments are stripped,
then checked for shape (known keys, known types, version syntax) so that a new Kafka release that
changes the format stops the generator with a clear message instead of producing wrong code.
"""

import json
import re

PRIMITIVE_TYPES = {"bool", "int8", "int16", "uint16", "int32", "int64", "float64", "uuid",
                   "string", "bytes", "records"}
# Types allowed as array elements without a struct definition.
ARRAY_PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "int64", "float64", "uuid",
                    "string"}

TOP_KEYS = {"apiKey", "type", "listeners", "name", "validVersions", "flexibleVersions", "fields",
            "commonStructs", "latestVersionUnstable"}
FIELD_KEYS = {"name", "type", "versions", "about", "fields", "default", "entityType",
              "nullableVersions", "ignorable", "mapKey", "taggedVersions", "tag", "zeroCopy",
              "flexibleVersions"}
COMMON_STRUCT_KEYS = {"name", "versions", "fields"}
MESSAGE_TYPES = {"request", "response", "header", "data"}
LISTENERS = {"broker", "controller", "zkBroker"}
NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
FIELD_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")  # a few specs use lowerCamelCase
VERSIONS_RE = re.compile(r"^(none|\d+\+|\d+-\d+|\d+)$")
TYPE_RE = re.compile(r"^(\[\])?([A-Za-z][A-Za-z0-9]*)$")
# Names of generated members that a field must not collide with.
RESERVED_MEMBERS = {"read", "write", "decode", "encode", "encoded_size", "descriptor",
                    "unknown_tagged_fields"}


class SpecError(Exception):
    pass


def strip_comments(text):
    """Removes `//` comments outside of JSON strings."""
    out = []
    i = 0
    in_string = False
    n = len(text)
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Versions:
    """A version range: lo..hi inclusive, hi None for open-ended, or empty ("none")."""

    def __init__(self, lo, hi, empty=False):
        self.lo, self.hi, self.empty = lo, hi, empty

    @staticmethod
    def parse(text, where):
        if not isinstance(text, str) or not VERSIONS_RE.match(text):
            raise SpecError(f"{where}: invalid versions {text!r} (expected N, N+, N-M or none)")
        if text == "none":
            return Versions(0, 0, empty=True)
        if text.endswith("+"):
            return Versions(int(text[:-1]), None)
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-"))
            if lo > hi:
                raise SpecError(f"{where}: empty version range {text!r}")
            return Versions(lo, hi)
        return Versions(int(text), int(text))

    def contains(self, v):
        return not self.empty and v >= self.lo and (self.hi is None or v <= self.hi)

    def intersect(self, other):
        if self.empty or other.empty:
            return Versions(0, 0, True)
        lo = max(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        hi = min(his) if his else None
        if hi is not None and lo > hi:
            return Versions(0, 0, True)
        return Versions(lo, hi)

    def __str__(self):
        if self.empty:
            return "none"
        return f"{self.lo}+" if self.hi is None else f"{self.lo}-{self.hi}"


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        spec = json.loads(strip_comments(text))
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}: not valid JSON after stripping comments: {e}") from e
    validate_spec(spec, path)
    return spec


def _check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise SpecError(f"{where}: expected an object")
    unknown = set(obj) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}")


def _validate_fields(fields, where, struct_names, common_names):
    if not isinstance(fields, list):
        raise SpecError(f"{where}: 'fields' must be a list")
    seen = set()
    tags = set()
    for i, f in enumerate(fields):
        fwhere = f"{where}.fields[{i}]"
        _check_keys(f, FIELD_KEYS, fwhere)
        for key in ("name", "type", "versions"):
            if key not in f:
                raise SpecError(f"{fwhere}: missing '{key}'")
        name = f["name"]
        if not isinstance(name, str) or not FIELD_NAME_RE.match(name):
            raise SpecError(f"{fwhere}: invalid field name {name!r}")
        fwhere = f"{where}.{name}"
        if name in seen:
            raise SpecError(f"{fwhere}: duplicate field name")
        seen.add(name)
        if snake(name) in RESERVED_MEMBERS:
            raise SpecError(f"{fwhere}: name collides with a generated member")
        versions = Versions.parse(f["versions"], fwhere + ".versions")
        for key in ("nullableVersions", "taggedVersions", "flexibleVersions"):
            if key in f:
                Versions.parse(f[key], f"{fwhere}.{key}")
        for key in ("ignorable", "mapKey", "zeroCopy"):
            if key in f and not isinstance(f[key], bool):
                raise SpecError(f"{fwhere}.{key}: expected true or false")
        if ("tag" in f) != ("taggedVersions" in f):
            raise SpecError(f"{fwhere}: 'tag' and 'taggedVersions' go together")
        if "tag" in f:
            if not isinstance(f["tag"], int) or f["tag"] < 0:
                raise SpecError(f"{fwhere}.tag: expected a non-negative integer")
            if f["tag"] in tags:
                raise SpecError(f"{fwhere}.tag: duplicate tag {f['tag']}")
            tags.add(f["tag"])
        m = TYPE_RE.match(f["type"]) if isinstance(f["type"], str) else None
        if not m:
            raise SpecError(f"{fwhere}: invalid type {f['type']!r}")
        is_array, base = m.group(1) is not None, m.group(2)
        if base in PRIMITIVE_TYPES:
            if "fields" in f:
                raise SpecError(f"{fwhere}: primitive type {base} cannot have fields")
            if is_array and base not in ARRAY_PRIMITIVES:
                raise SpecError(f"{fwhere}: arrays of {base} are not supported")
        else:
            if not NAME_RE.match(base):
                raise SpecError(f"{fwhere}: invalid struct type name {base!r}")
            if "fields" in f:
                if base in struct_names or base in common_names:
                    raise SpecError(f"{fwhere}: struct {base} is defined twice")
                struct_names.add(base)
                _validate_fields(f["fields"], fwhere, struct_names, common_names)
            elif base not in common_names:
                raise SpecError(f"{fwhere}: struct type {base} has no fields and is not a "
                                f"common struct")
        if "default" in f and not isinstance(f["default"], (str, int, bool)):
            raise SpecError(f"{fwhere}.default: expected a string, number or boolean")


def validate_spec(spec, path):
    _check_keys(spec, TOP_KEYS, path)
    for key in ("name", "type", "validVersions"):
        if key not in spec:
            raise SpecError(f"{path}: missing '{key}'")
    if spec["type"] not in MESSAGE_TYPES:
        raise SpecError(f"{path}: unknown message type {spec['type']!r}")
    if not NAME_RE.match(spec["name"]):
        raise SpecError(f"{path}: invalid message name {spec['name']!r}")
    if spec["type"] in ("request", "response"):
        if not isinstance(spec.get("apiKey"), int) or not 0 <= spec["apiKey"] < 32768:
            raise SpecError(f"{path}: requests and responses need an integer apiKey")
        if not spec["name"].endswith(spec["type"].capitalize()):
            raise SpecError(f"{path}: {spec['type']} name should end in "
                            f"{spec['type'].capitalize()}")
        if "fields" not in spec and spec["validVersions"] != "none":
            raise SpecError(f"{path}: missing 'fields'")
    Versions.parse(spec["validVersions"], path + ".validVersions")
    if "flexibleVersions" in spec:
        Versions.parse(spec["flexibleVersions"], path + ".flexibleVersions")
    for listener in spec.get("listeners", []):
        if listener not in LISTENERS:
            raise SpecError(f"{path}: unknown listener {listener!r}")
    if "latestVersionUnstable" in spec and not isinstance(spec["latestVersionUnstable"], bool):
        raise SpecError(f"{path}.latestVersionUnstable: expected true or false")
    common_names = set()
    for i, cs in enumerate(spec.get("commonStructs", [])):
        where = f"{path}.commonStructs[{i}]"
        _check_keys(cs, COMMON_STRUCT_KEYS, where)
        if not NAME_RE.match(cs.get("name", "")):
            raise SpecError(f"{where}: invalid name")
        Versions.parse(cs.get("versions"), where + ".versions")
        common_names.add(cs["name"])
    struct_names = set()
    for cs in spec.get("commonStructs", []):
        _validate_fields(cs["fields"], f"{path}.{cs['name']}", struct_names, common_names)
    _validate_fields(spec.get("fields", []), path, struct_names, common_names)


def snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
