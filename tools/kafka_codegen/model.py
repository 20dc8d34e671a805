"""The message model the templates render: messages, structs and fields with their C++ types and
the C++ statements that read, write, compare with the default, and fill (in tests) each field.

Every C++ snippet is built here from a handful of per-type rules, so the templates only lay out
files; the rules follow Kafka's own generator (MessageDataGenerator) for wire compatibility.
"""

from spec import SpecError, Versions, snake

CPP_KEYWORDS = {"default", "delete", "operator", "template", "class", "namespace", "new",
                "private", "public", "register", "union", "struct", "switch", "case", "int",
                "char", "long", "short", "auto", "const", "static", "export", "module",
                "import", "concept", "requires", "and", "or", "not", "xor", "bool", "true",
                "false", "this", "throw", "try", "catch", "return", "void", "signed",
                "unsigned", "explicit", "friend", "inline", "virtual", "typedef", "typename",
                "using", "goto", "do", "while", "for", "if", "else", "break", "continue",
                "extern", "mutable", "sizeof", "float", "double", "enum", "version"}

SCALARS = {
    # type: (C++ type, reader call, writer call, wire bytes)
    "bool": ("bool", "read_bool", "write_bool", 1),
    "int8": ("int8_t", "read_int8", "write_int8", 1),
    "int16": ("int16_t", "read_int16", "write_int16", 2),
    "uint16": ("uint16_t", "read_uint16", "write_uint16", 2),
    "int32": ("int32_t", "read_int32", "write_int32", 4),
    "int64": ("int64_t", "read_int64", "write_int64", 8),
    "float64": ("double", "read_float64", "write_float64", 8),
    "uuid": ("Uuid", "read_uuid", "write_uuid", 16),
}
INT_LIMITS = {"int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1), "uint16": (0, 2**16 - 1),
              "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}


def cond(versions, valid):
    """C++ condition on `version` for `versions`, knowing the version is within `valid`."""
    v = versions.intersect(valid)
    if v.empty:
        return "false"
    parts = []
    if v.lo > valid.lo:
        parts.append(f"version >= {v.lo}")
    if v.hi is not None and (valid.hi is None or v.hi < valid.hi):
        parts.append(f"version <= {v.hi}")
    return " && ".join(parts) if parts else "true"


def versions_list(versions, valid):
    v = versions.intersect(valid)
    if v.empty:
        return []
    return list(range(v.lo, v.hi + 1))


def cpp_string_literal(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Field:
    def __init__(self, spec, message, where):
        self.spec = spec
        self.name = spec["name"]
        self.where = f"{where}.{self.name}"
        member = snake(self.name)
        self.member = member + "_" if member in CPP_KEYWORDS else member
        t = spec["type"]
        self.is_array = t.startswith("[]")
        self.base = t[2:] if self.is_array else t
        self.is_struct = self.base not in SCALARS and self.base not in ("string", "bytes",
                                                                        "records")
        valid = message.valid
        self.versions = Versions.parse(spec["versions"], self.where).intersect(valid)
        self.nullable = Versions.parse(spec.get("nullableVersions", "none"), self.where)
        self.tagged = Versions.parse(spec.get("taggedVersions", "none"), self.where)
        self.tag = spec.get("tag")
        self.ignorable = spec.get("ignorable", False)
        self.flexible = (Versions.parse(spec["flexibleVersions"], self.where)
                         if "flexibleVersions" in spec else None)
        self.about = " ".join(spec.get("about", "").split())
        self.default_text = spec.get("default")
        self.message = message
        self.struct = None  # resolved later for struct types
        if not self.nullable.intersect(self.versions).empty:
            if not (self.is_array or self.base in ("string", "bytes", "records") or self.is_struct):
                raise SpecError(f"{self.where}: type {self.base} cannot be nullable")
        self.optional = not self.nullable.intersect(valid).empty
        if self.tag is not None:
            regular = [v for v in versions_list(self.versions, valid)
                       if not self.tagged.contains(v)]
            if regular:
                raise SpecError(f"{self.where}: tagged field also present untagged in versions "
                                f"{regular}")
            flexible = message.flexible
            for v in versions_list(self.versions, valid):
                if not flexible.contains(v):
                    raise SpecError(f"{self.where}: tagged in non-flexible version {v}")
        self._check_default()

    # ---- types and defaults -------------------------------------------------------------------
    def elem_cpp(self):
        if self.is_struct:
            return self.base
        if self.base in SCALARS:
            return SCALARS[self.base][0]
        return {"string": "std::string", "bytes": "std::vector<uint8_t>",
                "records": "SharedBytes"}[self.base]

    def value_cpp(self):
        return f"std::vector<{self.elem_cpp()}>" if self.is_array else self.elem_cpp()

    def cpp_type(self):
        return f"std::optional<{self.value_cpp()}>" if self.optional else self.value_cpp()

    def _check_default(self):
        d = self.default_text
        if d is None:
            return
        if d == "null":
            if not self.optional:
                raise SpecError(f"{self.where}: default null on a field that is never nullable")
            return
        if self.is_array or self.is_struct or self.base in ("bytes", "records"):
            raise SpecError(f"{self.where}: only null can be the default of a {self.base}")
        if self.base in INT_LIMITS:
            try:
                value = int(str(d), 0)
            except ValueError as e:
                raise SpecError(f"{self.where}: invalid integer default {d!r}") from e
            lo, hi = INT_LIMITS[self.base]
            if not lo <= value <= hi:
                raise SpecError(f"{self.where}: default {d} out of range for {self.base}")
        elif self.base == "bool":
            if str(d).lower() not in ("true", "false"):
                raise SpecError(f"{self.where}: invalid boolean default {d!r}")
        elif self.base == "float64":
            try:
                float(d)
            except ValueError as e:
                raise SpecError(f"{self.where}: invalid float default {d!r}") from e
        elif self.base == "uuid":
            raise SpecError(f"{self.where}: uuid defaults are not supported")

    def default_is_null(self):
        if not self.optional:
            return False
        if self.default_text == "null":
            return True
        # Kafka: records default to null; other nullable fields default to empty values.
        return self.base == "records" and not self.is_array

    def scalar_default_literal(self):
        d = self.default_text
        if self.base == "bool":
            return "true" if str(d).lower() == "true" else "false"
        if self.base == "float64":
            return repr(float(d)) if d is not None else "0.0"
        if self.base in INT_LIMITS:
            value = int(str(d), 0) if d is not None else 0
            lo, hi = INT_LIMITS[self.base]
            if value == lo and lo < 0:
                text = f"({-hi} - 1)"
            else:
                text = str(value)
            if self.base == "int64" and (value > 2**31 - 1 or value < -2**31):
                text = f"int64_t{{{text}}}" if value != lo else f"(int64_t{{{-hi}}} - 1)"
            return text
        return None

    def default_expr(self):
        """Expression for the default value, usable in `member = <expr>`."""
        if self.default_is_null():
            return "std::nullopt"
        if not self.is_array and self.base in SCALARS:
            if self.base == "uuid":
                return "Uuid{}"
            return self.scalar_default_literal()
        if not self.is_array and self.base == "string" and self.default_text not in (None, ""):
            return f"{self.value_cpp()}({cpp_string_literal(self.default_text)})"
        return f"{self.value_cpp()}{{}}"

    def member_init(self):
        """The initializer in the struct definition ('' when value-initialization is right)."""
        if self.default_is_null():
            return ""
        if not self.is_array and self.base in SCALARS:
            return " = " + self.default_expr() if self.base != "uuid" else "{}"
        if self.optional or (self.base == "string" and self.default_text not in (None, "")):
            return " = " + self.default_expr()
        return ""

    def nondefault(self, t):
        """C++ condition: the value `t` differs from the default (Kafka writes tagged fields and
        checks unsupported fields with this)."""
        if not self.is_array and self.base in SCALARS:
            return f"{t} != {self.default_expr()}"
        if self.optional:
            if self.default_is_null():
                return f"{t}.has_value()"
            inner = self._value_nondefault(f"(*{t})")
            return f"(!{t}.has_value() || {inner})"
        return self._value_nondefault(t)

    def _value_nondefault(self, t):
        if self.is_array or self.base in ("bytes", "records"):
            return f"!{t}.empty()"
        if self.base == "string":
            if self.default_text in (None, ""):
                return f"!{t}.empty()"
            return f"{t} != {cpp_string_literal(self.default_text)}"
        return f"!({t} == {self.base}{{}})"

    # ---- versions -----------------------------------------------------------------------------
    def present_cond(self):
        return cond(self.versions, self.message.valid)

    def tagged_present_cond(self):
        """Like present_cond, knowing the version is flexible (tagged fields exist only there)."""
        return cond(self.versions, self.message.flexible.intersect(self.message.valid))

    def nullable_cond(self):
        return cond(self.nullable.intersect(self.versions), self.message.valid)

    def compact_expr(self, in_tag=False):
        if in_tag:
            return "true"
        if self.flexible is not None:
            return cond(self.flexible, self.message.valid)
        return "flexible"

    # ---- wire statements ----------------------------------------------------------------------
    def read_stmts(self, r, in_tag=False):
        """Statements reading this field with reader `r`."""
        compact = self.compact_expr(in_tag)
        nullable = self.nullable_cond()
        t = self.member
        if self.is_array:
            min_bytes = self.elem_min_bytes()
            lines = [f"if (const int32_t n = {r}.read_array_length({compact}, {nullable}, "
                     f"{min_bytes}); n >= 0) {{"]
            if self.optional:
                lines += [f"  auto& items = {t}.emplace(static_cast<size_t>(n));"]
            else:
                lines += [f"  auto& items = {t};",
                          f"  items.assign(static_cast<size_t>(n), {self.elem_cpp()}{{}});"]
            lines += [f"  for (size_t i = 0; i < items.size() && {r}.ok(); ++i) {{",
                      f"    {self._read_elem(r, 'items[i]', compact)}",
                      f"  }}"]
            if self.optional:
                lines += ["} else {", f"  {t}.reset();"]
            lines += ["}"]
            return lines
        if self.is_struct:
            if self.optional:
                return [f"if (!({nullable}) || {r}.read_struct_presence(true)) {{",
                        # emplace(T{}) not emplace(): clang does not see a nested struct with
                        # member initializers as default-constructible inside its enclosing class.
                        f"  {t}.emplace({self.base}{{}}).read({r}, version);",
                        f"}} else {{",
                        f"  {t}.reset();",
                        f"}}"]
            return [f"{t}.read({r}, version);"]
        if self.base in SCALARS:
            return [f"{t} = {r}.{SCALARS[self.base][1]}();"]
        if self.optional:
            return [f"{r}.read_nullable_{self.base}({t}, {compact}, {nullable});"]
        return [f"{r}.read_{self.base}({t}, {compact});"]

    def _read_elem(self, r, e, compact):
        if self.is_struct:
            return f"{e}.read({r}, version);"
        if self.base in SCALARS:
            return f"{e} = {r}.{SCALARS[self.base][1]}();"
        return f"{r}.read_{self.base}({e}, {compact});"

    def write_stmts(self, w, in_tag=False):
        compact = self.compact_expr(in_tag)
        nullable = self.nullable_cond()
        t = self.member
        if self.is_array:
            body = [f"  {w}.write_array_length(items.size(), {compact});",
                    f"  for (const auto& item : items) {{",
                    f"    {self._write_elem(w, 'item', compact)}",
                    f"  }}"]
            if self.optional:
                return ([f"if ({t}.has_value()) {{", f"  const auto& items = *{t};"] + body +
                        [f"}} else {{", f"  {w}.write_null_array({compact}, {nullable});", "}"])
            return ["{", f"  const auto& items = {t};"] + body + ["}"]
        if self.is_struct:
            if self.optional:
                return [f"if ({nullable}) {{",
                        f"  {w}.write_struct_presence({t}.has_value(), true);",
                        f"}}",
                        f"if ({t}.has_value()) {{",
                        f"  {t}->write({w}, version);",
                        f"}} else if (!({nullable})) {{",
                        f"  {w}.fail(ErrorCode::kInvalidArgument, \"null struct {self.name} in a "
                        f"version where it is not nullable\");",
                        f"}}"]
            return [f"{t}.write({w}, version);"]
        if self.base in SCALARS:
            return [f"{w}.{SCALARS[self.base][2]}({t});"]
        if self.optional:
            return [f"{w}.write_nullable_{self.base}({t}, {compact}, {nullable});"]
        return [f"{w}.write_{self.base}({t}, {compact});"]

    def _write_elem(self, w, e, compact):
        if self.is_struct:
            return f"{e}.write({w}, version);"
        if self.base in SCALARS:
            return f"{w}.{SCALARS[self.base][2]}({e});"
        return f"{w}.write_{self.base}({e}, {compact});"

    # ---- sizes --------------------------------------------------------------------------------
    def min_bytes(self, v):
        """Smallest wire size of this (non-tagged) field at version v."""
        flexible = self.message.flexible.contains(v) if self.flexible is None \
            else self.flexible.contains(v)
        if self.is_array:
            return 1 if flexible else 4
        if self.is_struct:
            if self.optional and self.nullable.contains(v):
                return 1
            return self.struct.min_bytes(v)
        if self.base in SCALARS:
            return SCALARS[self.base][3]
        if self.base == "string":
            return 1 if flexible else 2
        return 1 if flexible else 4

    def elem_min_bytes(self):
        if self.is_struct:
            return max(1, min(self.struct.min_bytes(v)
                              for v in versions_list(self.versions, self.message.valid)))
        if self.base in SCALARS:
            return SCALARS[self.base][3]
        return 1

    # ---- test samples -------------------------------------------------------------------------
    def fill_stmts(self, index):
        """Statements that give this field a sample value (tests), with `version` and `seed`."""
        t = self.member
        lines = []
        value_target = t
        if self.optional:
            nullable = self.nullable_cond()
            lines += [f"if (seed == 0 && ({nullable})) {{", f"  x.{t}.reset();", "} else {"]
            if self.is_struct and not self.is_array:
                lines += [f"  x.{t} = std::decay_t<decltype(*x.{t})>{{}};",
                          f"  fill_sample(*x.{t}, version, seed);", "}"]
                return lines
            lines.append(f"  auto& v = x.{t}.emplace();")
            value_target = "v"
        else:
            lines.append("{")
            lines.append(f"  auto& v = x.{t};")
            value_target = "v"
        if self.is_array:
            lines += [f"  v.clear();",
                      f"  v.resize(static_cast<size_t>(seed) + 1);",
                      f"  for (size_t i = 0; i < v.size(); ++i) {{",
                      f"    {self._fill_elem('v[i]', index)}",
                      f"  }}"]
        else:
            lines.append("  " + self._fill_elem(value_target, index))
        lines.append("}")
        return lines

    def _fill_elem(self, e, index):
        if self.is_struct:
            return f"fill_sample({e}, version, seed);"
        if self.base == "bool":
            return f"{e} = (seed % 2) == 0;"
        if self.base == "float64":
            return f"{e} = seed + {index}.5;"
        if self.base == "uuid":
            return f"{e} = sample_uuid(seed + {index});"
        if self.base in SCALARS:
            ctype = SCALARS[self.base][0]
            return f"{e} = static_cast<{ctype}>(seed * 31 + {index + 1});"
        return f"{e} = sample_{self.base}(seed + {index});"


class Struct:
    def __init__(self, name, field_specs, message, where, is_top=False):
        self.name = name
        self.message = message
        self.is_top = is_top
        self.fields = [Field(f, message, where) for f in field_specs]
        self.regular_fields = [f for f in self.fields if f.tag is None]
        self.tagged_fields = sorted((f for f in self.fields if f.tag is not None),
                                    key=lambda f: f.tag)
        self._min_cache = {}

    def min_bytes(self, v):
        if v not in self._min_cache:
            total = sum(f.min_bytes(v) for f in self.regular_fields if f.versions.contains(v))
            if self.message.flexible.contains(v):
                total += 1
            self._min_cache[v] = total
        return self._min_cache[v]

    def unknown_sample_tags(self):
        """Tags for unknown tagged fields in test samples: one between known tags (if there is a
        gap) and one above all of them, to test that known and unknown tags merge in order."""
        known = {f.tag for f in self.tagged_fields}
        gap = next((t for t in range(0, max(known)) if t not in known), None) if known else None
        tags = [gap] if gap is not None else []
        tags.append((max(known) + 1 if known else 0) + 100)
        return tags


class Message:
    def __init__(self, spec, path):
        self.spec = spec
        self.path = path
        self.name = spec["name"]
        self.kind = spec["type"]
        self.api_key = spec["apiKey"]
        self.valid = Versions.parse(spec["validVersions"], path)
        if self.valid.hi is None:
            raise SpecError(f"{path}: validVersions must be a closed range")
        self.flexible = Versions.parse(spec.get("flexibleVersions", "none"), path)
        if not self.flexible.empty and self.flexible.hi is not None:
            raise SpecError(f"{path}: flexibleVersions must be open-ended")
        self.first_flexible = -1
        flex = self.flexible.intersect(self.valid)
        if not flex.empty:
            self.first_flexible = flex.lo
        self.listeners = spec.get("listeners", [])
        self.latest_unstable = spec.get("latestVersionUnstable", False)
        self.file_stem = snake(self.name)
        self.structs = []  # in definition order: dependencies first
        self._by_name = {}
        for cs in spec.get("commonStructs", []):
            self._add_struct(cs["name"], cs["fields"], f"{path}.{cs['name']}", common=True)
        self.top = self._add_struct(self.name, spec["fields"], path, is_top=True)
        self._resolve()

    def _add_struct(self, name, field_specs, where, is_top=False, common=False):
        # Nested struct definitions first, so that every struct follows those it contains.
        for f in field_specs:
            if "fields" in f:
                base = f["type"][2:] if f["type"].startswith("[]") else f["type"]
                self._add_struct(base, f["fields"], f"{where}.{f['name']}")
        s = Struct(name, field_specs, self, where, is_top)
        if name in self._by_name:
            raise SpecError(f"{where}: struct {name} defined twice")
        self._by_name[name] = s
        self.structs.append(s)
        return s

    def _resolve(self):
        for s in self.structs:
            for f in s.fields:
                if f.is_struct:
                    if f.base not in self._by_name:
                        raise SpecError(f"{f.where}: unknown struct type {f.base}")
                    f.struct = self._by_name[f.base]
        # Order definitions so that every struct follows the structs it contains.
        ordered, state = [], {}

        def visit(s):
            if state.get(s.name) == "done":
                return
            if state.get(s.name) == "visiting":
                raise SpecError(f"{self.path}: struct {s.name} contains itself")
            state[s.name] = "visiting"
            for f in s.fields:
                if f.is_struct:
                    visit(f.struct)
            state[s.name] = "done"
            ordered.append(s)

        for s in self.structs:
            visit(s)
        self.structs = ordered

    def versions(self):
        return list(range(self.valid.lo, self.valid.hi + 1))

    def flexible_cond(self):
        return cond(self.flexible, self.valid)
