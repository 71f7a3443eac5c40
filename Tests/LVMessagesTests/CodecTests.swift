import LVMessages
import Testing

typealias Everything = Lv_Testing_V1_Everything
typealias Leaf = Lv_Testing_V1_Leaf

private func leaf(_ name: String, _ weight: Int32) -> Leaf {
    var l = Leaf()
    l.name = name
    l.weight = weight
    return l
}

private func fullEverything() -> Everything {
    var e = Everything()
    e.fDouble = -2.5
    e.fFloat = 1.25
    e.fInt32 = -7
    e.fInt64 = Int64.min
    e.fUint32 = UInt32.max
    e.fUint64 = UInt64.max
    e.fSint32 = -123_456
    e.fSint64 = -9_876_543_210
    e.fFixed32 = 0xdead_beef
    e.fFixed64 = 0x0123_4567_89ab_cdef
    e.fSfixed32 = -1
    e.fSfixed64 = Int64.max
    e.fBool = true
    e.fString = "Ünïcödé ✓ 名前"
    e.fBytes = [0, 1, 2, 255, 0]
    e.fColour = .negative
    e.fLeaf = leaf("root", 3)
    e.rInt32 = [1, -1, Int32.max, Int32.min]
    e.rDouble = [0.5, -0.25]
    e.rString = ["a", "", "ß"]
    e.rBytes = [[], [9, 9]]
    e.rColour = [.red, .green, .unrecognized(42)]
    e.rLeaf = [leaf("x", 1), leaf("y", 2)]
    e.rBool = [true, false, true]
    e.mString = ["k1": "v1", "k2": ""]
    e.mLeaf = ["a": leaf("in map", 5)]
    e.mInt = [-1: 10, 7: Int64.min]
    var nested = Everything.Nested()
    nested.kind = .a
    nested.leaves = [leaf("n", 0)]
    e.nested = nested
    e.choice = .cLeaf(leaf("chosen", 9))
    return e
}

@Suite("protobuf-c codec")
struct CodecTests {
    @Test("every field shape survives pack and unpack through protobuf-c")
    func roundTripEverything() throws {
        let original = fullEverything()
        let decoded = try Everything(serializedBytes: original.serializedBytes())
        #expect(decoded == original)
    }

    @Test("each oneof member round-trips, and an unset oneof stays unset", arguments: [
        Everything.Choice.cText("text"), .cNumber(-5), .cLeaf(leaf("l", 1)), .cColour(.green), .cBytes([1, 2]),
    ])
    func oneofMembers(choice: Everything.Choice) throws {
        var e = Everything()
        e.choice = choice
        #expect(try Everything(serializedBytes: e.serializedBytes()).choice == choice)
        #expect(try Everything(serializedBytes: Everything().serializedBytes()).choice == nil)
    }

    @Test("the encoding matches the protobuf wire format byte for byte")
    func knownBytes() throws {
        // field 1 (name) length-delimited "ab", field 2 (weight) varint 150 -> 96 01
        #expect(try leaf("ab", 150).serializedBytes() == [0x0a, 0x02, 0x61, 0x62, 0x10, 0x96, 0x01])
        // proto3 defaults are not written
        #expect(try Leaf().serializedBytes() == [])
    }

    @Test("an enum value this build does not know is kept")
    func unknownEnumValue() throws {
        // Leaf has no enum; use Everything.f_colour (field 16, varint): key = 16<<3|0 = 128 -> 80 01
        let decoded = try Everything(serializedBytes: [0x80, 0x01, 0x63])
        #expect(decoded.fColour == .unrecognized(99))
        #expect(try decoded.serializedBytes() == [0x80, 0x01, 0x63])
    }

    @Test("truncated or malformed bytes are an error, not a crash", arguments: [
        [0x0a, 0x05, 0x61],                 // length runs past the end
        [0x10],                             // varint missing
        [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint too long
        [0x0b],                             // wire type 3 (group start)
        [0x00, 0x01],                       // field number 0
        [0x0f],                             // wire type 7
    ] as [[UInt8]])
    func malformed(bytes: [UInt8]) {
        #expect(throws: ProtoError.self) { try Leaf(serializedBytes: bytes) }
    }

    @Test("every prefix of a valid encoding either decodes or throws")
    func everyPrefix() throws {
        let bytes = try fullEverything().serializedBytes()
        for end in 0..<bytes.count {
            _ = try? Everything(serializedBytes: Array(bytes[0..<end]))
        }
    }

    @Test("invalid UTF-8 in a string field is refused, naming the field")
    func invalidUTF8() {
        #expect(throws: ProtoError.invalidUTF8(field: "name")) {
            try Leaf(serializedBytes: [0x0a, 0x02, 0xc3, 0x28])
        }
        // inside a nested message the path names both levels: Everything.f_leaf (17) -> Leaf.name
        #expect(throws: ProtoError.invalidUTF8(field: "f_leaf.name")) {
            try Everything(serializedBytes: [0x8a, 0x01, 0x03, 0x0a, 0x01, 0xff])
        }
    }

    @Test("a NUL inside a string is refused on decode and on encode")
    func embeddedNUL() {
        #expect(throws: ProtoError.embeddedNUL(field: "name")) {
            try Leaf(serializedBytes: [0x0a, 0x03, 0x61, 0x00, 0x62])
        }
        #expect(throws: ProtoError.embeddedNUL(field: "lv.testing.v1.Leaf.name")) {
            try leaf("a\u{0}b", 1).serializedBytes()
        }
    }

    /// Tree{children: [Tree{children: [...]}]} nested `depth` times, encoded by hand.
    private func nestedTreeBytes(depth: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x0a, 0x01, 0x78] // label "x"
        for _ in 0..<depth {
            var length = bytes.count
            var varint: [UInt8] = []
            repeat {
                varint.append(UInt8(length & 0x7f) | (length > 0x7f ? 0x80 : 0))
                length >>= 7
            } while length > 0
            bytes = [0x12] + varint + bytes
        }
        return bytes
    }

    @Test("nesting deeper than the limit is refused before protobuf-c recurses")
    func tooDeep() throws {
        let ok = try Lv_Testing_V1_Tree(serializedBytes: nestedTreeBytes(depth: WireCheck.maximumDepth))
        var depth = 0
        var node = ok
        while let child = node.children.first { node = child; depth += 1 }
        #expect(depth == WireCheck.maximumDepth)
        #expect(node.label == "x")
        #expect(throws: ProtoError.tooDeep(message: "lv.testing.v1.Tree")) {
            try Lv_Testing_V1_Tree(serializedBytes: nestedTreeBytes(depth: 10_000))
        }
    }

    @Test("unknown fields are skipped")
    func unknownFields() throws {
        // field 99 varint, then name "z"
        let decoded = try Leaf(serializedBytes: [0x98, 0x06, 0x05, 0x0a, 0x01, 0x7a])
        #expect(decoded == leaf("z", 0))
    }
}
