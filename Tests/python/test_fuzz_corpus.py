"""The codec fuzz target's type list (Fuzz/Codec/FuzzCodec.swift) and the seed corpus numbering
(scripts/make-fuzz-corpus.py) agree, cover every message of proto/, and never renumber a seed:
every committed seed's first byte still selects the type its file is named after."""
import re
import subprocess
import sys

from google.protobuf import descriptor_pb2

from conftest import ROOT

SWIFT = (ROOT / "Fuzz" / "Codec" / "FuzzCodec.swift").read_text()
CORPUS = ROOT / "Fuzz" / "corpus" / "codec"


def full_name(swift_type):
    """Lv_Gateway_V1_Evidence → lv.gateway.v1.Evidence; Lv_Testing_V1_Everything.Nested → lv.testing.v1.Everything.Nested."""
    lv, package, version, rest = swift_type.split("_", 3)
    return f"{lv.lower()}.{package.lower()}.{version.lower()}.{rest}"


def swift_list(name):
    body = re.search(rf"let {name}: \[any ProtoMessage\.Type\] = \(?\[(.*?)\]", SWIFT, re.S).group(1)
    return [full_name(t) for t in re.findall(r"(Lv_[A-Za-z0-9_.]+)\.self", body)]


def swift_order():
    # The first generation is sorted at run time by protoName (byte order); appended keeps its order.
    return sorted(swift_list("firstGeneration"), key=str.encode) + swift_list("appended")


def proto_messages():
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString((ROOT / "proto" / "lv.protoset").read_bytes())
    names = []

    def walk(package, prefix, messages):
        for m in messages:
            if not m.options.map_entry:
                names.append(f"{package}.{prefix}{m.name}")
                walk(package, f"{prefix}{m.name}.", m.nested_type)

    for f in fds.file:
        walk(f.package, "", f.message_type)
    return names


def test_the_fuzz_target_covers_every_message_type_once():
    order = swift_order()
    assert len(order) == len(set(order))
    missing = sorted(set(proto_messages()) - set(order))
    assert not missing, f"add to `appended` in FuzzCodec.swift and APPENDED in make-fuzz-corpus.py: {missing}"
    assert set(order) == set(proto_messages())
    assert len(order) <= 256, "the first input byte selects the type"


def test_the_corpus_script_numbers_types_as_the_fuzz_target_does():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make-fuzz-corpus.py"), "--order"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == swift_order()


def test_every_committed_seed_selects_the_type_it_is_named_after():
    order = swift_order()
    seeds = sorted(CORPUS.iterdir())
    assert len(seeds) >= 2 * len(order) - 2, "an empty and a full seed per type (a few types have no full one)"
    covered = set()
    for path in seeds:
        number, short = re.match(r"(\d{3})-([A-Za-z0-9]+)-", path.name).groups()
        data = path.read_bytes()
        assert data[0] == int(number), path.name
        assert order[data[0] % len(order)].split(".")[-1] == short, f"{path.name} now decodes as {order[data[0] % len(order)]}"
        covered.add(order[data[0]])
    assert covered == set(order)
