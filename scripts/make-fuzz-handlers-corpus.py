#!/usr/bin/env python3
"""Seed corpus for Fuzz/Handlers (make fuzz): byte 0 is the route (every method of the registration,
engagement and assessment services, sorted by "service/method" as the fuzz target sorts its router's
routes), the rest a request payload: every Fuzz/corpus/codec seed of the method's request type (run
scripts/make-fuzz-corpus.py first) with its type byte replaced by the route's."""
import os
from google.protobuf import descriptor_pb2

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
codec = os.path.join(root, "Fuzz", "corpus", "codec")
out = os.path.join(root, "Fuzz", "corpus", "handlers")
os.makedirs(out, exist_ok=True)

fds = descriptor_pb2.FileDescriptorSet()
fds.ParseFromString(open(os.path.join(root, "proto", "lv.protoset"), "rb").read())
routes = []
for f in fds.file:
    if f.package not in ("lv.registration.v1", "lv.engagement.v1", "lv.assessment.v1"):
        continue
    for s in f.service:
        for m in s.method:
            routes.append((f"{f.package}.{s.name}/{m.name}", m.name, m.input_type.split(".")[-1]))
routes.sort(key=lambda r: r[0].encode())
files = sorted(os.listdir(codec))
n = 0
for index, (_, method, request) in enumerate(routes):
    for name in files:
        parts = name.split("-", 2)
        if parts[1] != request:
            continue
        data = open(os.path.join(codec, name), "rb").read()
        open(os.path.join(out, f"{index:02d}-{method}-{parts[2]}"), "wb").write(bytes([index]) + data[1:])
        n += 1
print(f"{n} seeds for {len(routes)} routes in {out}")
