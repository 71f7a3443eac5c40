#!/usr/bin/env python3
"""Seed corpus for Fuzz/Frames (make fuzz): byte 0 picks the decoder's limits (bits 0-1: frame size
limit 16/64/4096/4 MiB, bit 2: hard cap 4x the limit or 64 MiB, bits 3-4: budget threshold/capacity
1/64, 8/1024, 64/100, 64 KiB/1 MiB), byte 1 seeds the read sizes, the rest is the byte stream: every
frame of docs/protocol-vectors.json alone, a HELLO + REQUEST + PING session, and a REQUEST body
larger than the budget, each under a few limits and read sizes."""
import json, os

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "Fuzz", "corpus", "frames")
os.makedirs(out, exist_ok=True)
vectors = {v["name"]: bytes.fromhex(v["hex"]) for v in json.load(open(os.path.join(root, "docs", "protocol-vectors.json")))["vectors"]}

def frame(ftype, stream, meta, payload):
    return (b"LV\x01" + bytes([ftype, 0, 0]) + len(meta).to_bytes(2, "big") + stream.to_bytes(4, "big")
            + len(payload).to_bytes(4, "big") + meta + payload)

seeds = {}
for name, data in vectors.items():
    seeds[f"vector-{name}-default"] = bytes([0x1B, 0]) + data
    seeds[f"vector-{name}-small"] = bytes([0x0A, 7]) + data
session = vectors["hello"] + vectors["request_health_check"] + vectors["ping"]
for config in (0x00, 0x02, 0x0A, 0x12, 0x1B, 0x1F):
    for split in (0, 3, 200):
        seeds[f"session-{config:02x}-{split}"] = bytes([config, split]) + session
big = frame(3, 1, b"", bytes(range(256)) * 2)  # a 512-byte REQUEST body: over 64/100-byte budgets
for config in (0x02, 0x0A, 0x12, 0x1A):
    seeds[f"big-request-{config:02x}"] = bytes([config, 1]) + vectors["hello"] + big + vectors["ping"]
for name, data in seeds.items():
    open(os.path.join(out, name), "wb").write(data)
print(f"{len(seeds)} seeds in {out}")
