#!/usr/bin/env python3
"""Writes Tests/Fixtures/json-mapping.json: the official protobuf package's proto3 JSON mapping
(google.protobuf.json_format) of every message type in proto/lv.protoset, for LVJSON's tests.

For each message type (map entry types excepted): samples filled deterministically (every field
set, each oneof member in turn, edge values: 64-bit extremes, NaN and infinities, unknown enum
numbers, escapes and non-ASCII text, every byte value) and the empty message, each as
{"type", "hex" (json_format's bytes), "json" (MessageToJson's text)}. Then inputs json_format
accepts in other spellings ("accepts": .proto names, integers as strings, enum numbers,
unpadded or URL-safe base64, exponents) with the bytes it makes, and inputs it rejects ("rejects").
Run by `make proto`; `--check` fails when the committed file is stale.
"""
import json
import pathlib
import random
import struct
import sys

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format, message_factory

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "json-mapping.json"

fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "proto" / "lv.protoset").read_bytes())
POOL = descriptor_pool.DescriptorPool()
for f in fds.file:
    POOL.Add(f)
FD = descriptor.FieldDescriptor


def message_class(name):
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(name))


def all_types():
    names = []

    def walk(d):
        if not d.GetOptions().map_entry:
            names.append(d.full_name)
        for n in d.nested_types:
            walk(n)

    for f in fds.file:
        fd = POOL.FindFileByName(f.name)
        for m in fd.message_types_by_name.values():
            walk(m)
    return sorted(names)


TEXTS = ["plain", "é名 🙂", "quote \" backslash \\ newline \n tab \t", "\u2028\u0001\u007f", ""]


def scalar(field, rng, edge):
    t = field.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return rng.choice([-2**31, 2**31 - 1, -1]) if edge else rng.randint(-100000, 100000)
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return rng.choice([-2**63, 2**63 - 1, -1]) if edge else rng.randint(-10**15, 10**15)
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return 2**32 - 1 if edge else rng.randint(1, 100000)
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return 2**64 - 1 if edge else rng.randint(1, 10**17)
    if t == FD.TYPE_FLOAT:
        if edge:
            return rng.choice([float("nan"), float("inf"), float("-inf"), 3.4028234663852886e38, 1e-45, -0.0])
        return struct.unpack("<f", struct.pack("<f", rng.uniform(-1000, 1000)))[0]
    if t == FD.TYPE_DOUBLE:
        if edge:
            return rng.choice([float("nan"), float("inf"), float("-inf"), 1.7976931348623157e308, 5e-324, -0.0])
        return rng.uniform(-1e6, 1e6)
    if t == FD.TYPE_BOOL:
        return True
    if t == FD.TYPE_STRING:
        return rng.choice(TEXTS[:-1])
    if t == FD.TYPE_BYTES:
        return bytes(range(256)) if edge else bytes(rng.randrange(256) for _ in range(rng.randint(1, 7)))
    if t == FD.TYPE_ENUM:
        if edge:
            return 99  # not a value of the enum: proto3 keeps it, JSON writes the number
        values = [v.number for v in field.enum_type.values if v.number != 0] or [0]
        return rng.choice(values)
    raise ValueError(t)


def fill(msg, rng, edge, depth, oneof_pick):
    d = msg.DESCRIPTOR
    chosen = {}
    for o in d.oneofs:
        if o.name.startswith("_") and len(o.fields) == 1:
            continue  # a proto3 optional field
        chosen[o.name] = o.fields[oneof_pick % len(o.fields)].name
    for field in d.fields:
        o = field.containing_oneof
        if o is not None and o.name in chosen and chosen[o.name] != field.name:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            kf, vf = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            m = getattr(msg, field.name)
            for i in range(2):
                key = scalar(kf, rng, False) if kf.type != FD.TYPE_STRING else f"k{i} {rng.choice(TEXTS[:2])}"
                if kf.type == FD.TYPE_BOOL:
                    key = i == 0
                if vf.message_type is not None:
                    if depth < 3:
                        fill(m[key], rng, edge, depth + 1, oneof_pick)
                    else:
                        m[key].SetInParent()
                else:
                    m[key] = scalar(vf, rng, edge)
            continue
        if field.type == FD.TYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.is_repeated:
                for _ in range(2):
                    fill(getattr(msg, field.name).add(), rng, edge, depth + 1, oneof_pick)
            else:
                fill(getattr(msg, field.name), rng, edge, depth + 1, oneof_pick)
                getattr(msg, field.name).SetInParent()
            continue
        if field.is_repeated:
            getattr(msg, field.name).extend([scalar(field, rng, edge), scalar(field, rng, False)])
        else:
            setattr(msg, field.name, scalar(field, rng, edge))


def samples():
    out = []
    for name in all_types():
        cls = message_class(name)
        n_oneof_members = max([len(o.fields) for o in cls.DESCRIPTOR.oneofs] or [1])
        variants = [(False, k) for k in range(n_oneof_members)] + [(True, 0), None]
        for i, v in enumerate(variants):
            m = cls()
            if v is not None:
                fill(m, random.Random(f"{name}/{i}"), v[0], 0, v[1])
            out.append({"type": name, "hex": m.SerializeToString(deterministic=True).hex(),
                        # map order is the library's iteration order; sorted keys keep the file stable
                        "json": json.dumps(json.loads(json_format.MessageToJson(m, indent=None)), sort_keys=True)})
    return out


ALL = "lv.testing.v1.Everything"
ACCEPTS = [
    (ALL, '{"f_int32": 5, "f_string": "proto names"}'),
    (ALL, '{"fInt64": "-9223372036854775808", "fUint64": "18446744073709551615", "fInt32": "-7"}'),
    (ALL, '{"fInt64": 12, "fUint32": 1e3, "fDouble": "2.5", "fFloat": "-Infinity"}'),
    (ALL, '{"fBytes": "AP8", "rBytes": ["-_8", "AAE="]}'),
    (ALL, '{"fInt64": "1.0", "fInt32": "2e1"}'),
    (ALL, '{"fInt32": null, "rInt32": [], "mString": {}}'),
    (ALL, '{"mInt": {"-3": "4", "7": 8}, "mString": {"a": "b"}}'),
]
REJECTS = [
    (ALL, '{"fInt32": 1, "fInt33": 2}'),
    (ALL, '{"fInt32": 1.5}'),
    (ALL, '{"fInt32": 2147483648}'),
    (ALL, '{"fUint32": -1}'),
    (ALL, '{"fInt64": "1.5"}'),
    (ALL, '{"fBool": "true"}'),
    (ALL, '{"fString": 5}'),
    (ALL, '{"fBytes": "not base64!"}'),
    (ALL, '{"fFloat": 1e39}'),
    (ALL, '{"rInt32": 5}'),
    (ALL, '{"rInt32": [1, null]}'),
    (ALL, '{"mInt": {"x": 1}}'),
]


def enum_cases():
    # A oneof with two members given, and an enum name that does not exist, for a message that has them.
    out = []
    for name in all_types():
        d = POOL.FindMessageTypeByName(name)
        for o in d.oneofs:
            if len(o.fields) >= 2 and not o.name.startswith("_"):
                a, b = o.fields[0], o.fields[1]
                if a.type != FD.TYPE_MESSAGE and b.type != FD.TYPE_MESSAGE:
                    out.append((name, json.dumps({a.json_name: json.loads(json_format.MessageToJson(_one(name, a))).get(a.json_name, 1),
                                                   b.json_name: json.loads(json_format.MessageToJson(_one(name, b))).get(b.json_name, 1)})))
                    return out + _enum_reject()
    return out + _enum_reject()


def _one(name, field):
    m = message_class(name)()
    setattr(m, field.name, scalar(field, random.Random(1), False))
    return m


def _enum_reject():
    for name in all_types():
        for f in POOL.FindMessageTypeByName(name).fields:
            if f.type == FD.TYPE_ENUM and not f.is_repeated:
                return [(name, json.dumps({f.json_name: "NO_SUCH_VALUE"}))]
    return []


def build():
    accepts = []
    for t, text in ACCEPTS:
        m = json_format.Parse(text, message_class(t)())
        accepts.append({"type": t, "input": text, "hex": m.SerializeToString(deterministic=True).hex()})
    rejects = []
    for t, text in REJECTS + enum_cases():
        try:
            json_format.Parse(text, message_class(t)())
        except json_format.ParseError as e:
            rejects.append({"type": t, "input": text, "python_error": str(e)})
            continue
        raise SystemExit(f"json_format accepted {text} for {t}; not a reject case")
    return {"comment": "Generated by scripts/make-json-fixtures.py from proto/lv.protoset with google.protobuf.json_format; "
                       "DO NOT EDIT, run `make proto`.",
            "samples": samples(), "accepts": accepts, "rejects": rejects}


def main():
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"stale: {OUT.relative_to(ROOT)} (run make proto)", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
