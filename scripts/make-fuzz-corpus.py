#!/usr/bin/env python3
"""Seed corpus for Fuzz/Codec (make fuzz): for every message type, in the order of the
fuzz target's `types` list (the first generation's full protobuf names sorted like the Swift
type names, then APPENDED in its order, so a seed never changes type), a few
encodings made with the official Python protobuf package from proto/lv.protoset — empty,
every field set once (extremes for numbers), and the audit's payloads. Each file is one
byte (the type's index) followed by the encoding."""
import os, sys
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor as F

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "Fuzz", "corpus", "codec")
os.makedirs(out, exist_ok=True)

fds = descriptor_pb2.FileDescriptorSet()
fds.ParseFromString(open(os.path.join(root, "proto", "lv.protoset"), "rb").read())
pool = descriptor_pool.DescriptorPool()
for f in fds.file:
    pool.Add(f)

names = []
for f in fds.file:
    def walk(prefix, msgs):
        for m in msgs:
            if m.options.map_entry:
                continue
            names.append((m.name, f.package + "." + prefix + m.name))
            walk(prefix + m.name + ".", m.nested_type)
    walk("", f.message_type)
# Types added after the first corpus, in the order of Fuzz/Codec's `appended`: numbered after the
# first generation instead of sorted in, so the committed seeds keep their numbers.
APPENDED = [
    "lv.admin.v1.BackupRequest",
    "lv.admin.v1.BackupResponse",
    "lv.gateway.v1.AbsentSection",
    "lv.gateway.v1.Adjusted",
    "lv.gateway.v1.AssessedSteps",
    "lv.gateway.v1.ChangeFunnel",
    "lv.gateway.v1.Completeness",
    "lv.gateway.v1.Confidence",
    "lv.gateway.v1.ConfidenceInterval",
    "lv.gateway.v1.Evidence",
    "lv.gateway.v1.McNemarResult",
    "lv.gateway.v1.ReliabilityUsed",
    "lv.gateway.v1.VerdictCount",
    "lv.health.v1.DependencyHealth",
    "lv.reflection.v1.GetFileDescriptorSetRequest",
    "lv.reflection.v1.GetFileDescriptorSetResponse",
    "lv.gateway.v1.EngagementPoint",
    "lv.gateway.v1.ExportPARSRequest",
    "lv.gateway.v1.ExportPARSResponse",
    "lv.gateway.v1.MissedItem",
    "lv.gateway.v1.MocResult",
    "lv.registration.v1.CreditOffer",
    "lv.registration.v1.MocOffer",
    "lv.registration.v1.Planning",
    "lv.gateway.v1.PlanningComparison",
    "lv.gateway.v1.ObjectivePlan",
    "lv.gateway.v1.ObjectiveLevel",
    "lv.gateway.v1.GroupKnowledge",
]
# The first generation sorted by full name, as the Swift target sorts by protoName (byte order).
by_full = {full: (msg, full) for msg, full in names}
ordered = sorted((n for n in names if n[1] not in APPENDED), key=lambda n: n[1].encode()) + [by_full[f] for f in APPENDED]
if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--order":
    print("\n".join(full for _, full in ordered))
    sys.exit(0)

def fill(m, depth):
    for field in m.DESCRIPTOR.fields:
        rep = field.is_repeated if hasattr(field, 'is_repeated') else field.label == F.LABEL_REPEATED
        t = field.type
        if t == F.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                getattr(m, field.name)["k"] = "v" if field.message_type.fields_by_name["value"].type == F.TYPE_STRING else getattr(m, field.name).get("k")
                continue
            if depth > 3:
                continue
            sub = getattr(m, field.name).add() if rep else getattr(m, field.name)
            fill(sub, depth + 1)
            if not rep:
                sub.SetInParent()
            continue
        if t == F.TYPE_STRING: v = "x-\u00e9"
        elif t == F.TYPE_BYTES: v = b"\x00\xff"
        elif t == F.TYPE_BOOL: v = True
        elif t == F.TYPE_ENUM: v = field.enum_type.values[-1].number
        elif t in (F.TYPE_DOUBLE, F.TYPE_FLOAT): v = -1.5
        elif t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64): v = -(2**63)
        elif t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32): v = -(2**31)
        elif t in (F.TYPE_UINT64, F.TYPE_FIXED64): v = 2**64 - 1
        else: v = 2**32 - 1
        if field.containing_oneof is not None and rep is False and t != F.TYPE_MESSAGE:
            pass
        if rep:
            getattr(m, field.name).append(v)
        else:
            setattr(m, field.name, v)

for index, (msg, full) in enumerate(ordered):
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(full))
    seeds = {"empty": b""}
    m = cls()
    try:
        fill(m, 0)
        seeds["full"] = m.SerializeToString()
    except Exception as e:  # a oneof or map quirk: the empty seed is enough
        print(f"{full}: {e}", file=sys.stderr)
    for name, data in seeds.items():
        path = os.path.join(out, f"{index:03d}-{msg}-{name}")
        # A committed seed is a test input (fuzz-replay): only missing ones are written, unless --rewrite.
        if os.path.exists(path) and "--rewrite" not in sys.argv:
            continue
        with open(path, "wb") as fh:
            fh.write(bytes([index]) + data)

# The audit's payloads, by name.
def seed(full, name, data):
    index = [f for _, f in ordered].index(full)
    if os.path.exists(os.path.join(out, f"{index:03d}-{full.split('.')[-1]}-audit-{name}")) and "--rewrite" not in sys.argv:
        return
    with open(os.path.join(out, f"{index:03d}-{full.split('.')[-1]}-audit-{name}"), "wb") as fh:
        fh.write(bytes([index]) + data)

AddSession = message_factory.GetMessageClass(pool.FindMessageTypeByName("lv.registration.v1.AddSessionRequest"))
r = AddSession(request_id="crash")
r.session.activity_id = "a"
r.session.start_ms = -1
r.session.end_ms = 2**63 - 1
seed("lv.registration.v1.AddSessionRequest", "crash-start-end", r.SerializeToString())
seed("lv.registration.v1.CreateActivityRequest", "amplification", b"\x12" + bytes([0xc8, 0x01]) + b"\x3a\x00" * 100)
seed("lv.rpc.v1.FrameMeta", "request-id-newline", b"\x1a\x1a\x0a\x0cx-request-id\x12\x0aok\nforged")
print(f"{len(ordered)} message types; seeds in {out}")
