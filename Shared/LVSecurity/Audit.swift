#if canImport(Glibc)
import Glibc
#endif
import CProtobufC
import Foundation
import LVRPC
import NIOCore

/// The audit log (docs/SECURITY.md, "Audit log"): one JSON object per line, each carrying the
/// SHA-256 of the previous line's hash and its own content, so a line altered or removed breaks
/// the chain at that point (`lvctl admin verify-audit`).
///
/// Appends go to a dedicated writer thread that writes every queued record, fsyncs once and only
/// then resumes the callers: a call's response goes out after its audit record is on disk, as a
/// write's goes out after its COMMIT. Never runs file I/O on an event loop or the cooperative pool.
public final class AuditLog: @unchecked Sendable { // state guarded by `condition`
    public let path: String
    private let fd: Int32
    private let condition = NSCondition()
    private var queue: [(fields: String, continuation: CheckedContinuation<Void, any Error>)] = []
    private var closed = false
    private var seq: UInt64
    private var prev: String
    private var thread: Thread?

    public static let genesis = String(repeating: "0", count: 64)

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(path: path, line: 0, reason: "cannot open: \(String(cString: strerror(errno)))") }
        self.fd = fd
        let tail = try Self.recoverTail(fd: fd, path: path)
        seq = tail.0
        prev = tail.1
        let thread = Thread { [unowned self] in self.writerLoop() }
        thread.name = "lv-audit-writer"
        self.thread = thread
        thread.start()
    }

    /// The last complete line's seq and hash. A final line without its newline is a record whose
    /// write was torn by a crash before fsync (never acknowledged): it is cut off.
    static func recoverTail(fd: Int32, path: String) throws -> (UInt64, String) {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return (0, genesis) }
        let window = min(Int(size), 1 << 20)
        var bytes = [UInt8](repeating: 0, count: window)
        let n = pread(fd, &bytes, window, off_t(Int(size) - window))
        guard n == window else { throw AuditError(path: path, line: 0, reason: "cannot read its end") }
        var end = window
        if bytes[window - 1] != UInt8(ascii: "\n") {
            guard let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
                guard ftruncate(fd, 0) == 0 else { throw AuditError(path: path, line: 0, reason: "cannot cut off a torn line") }
                return (0, genesis)
            }
            guard ftruncate(fd, off_t(Int(size) - window + lastNewline + 1)) == 0 else {
                throw AuditError(path: path, line: 0, reason: "cannot cut off a torn last line")
            }
            end = lastNewline + 1
        }
        let body = bytes[0..<(end - 1)]
        let start = body.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let line = String(decoding: bytes[start..<(end - 1)], as: UTF8.self)
        guard let parsed = AuditChain.parse(line) else {
            throw AuditError(path: path, line: 0, reason: "its last line is not an audit record; run lvctl admin verify-audit")
        }
        return (parsed.seq, parsed.hash)
    }

    /// Appends a record made of JSON members (`"k":v,...`, no braces); returns once it is on disk.
    func append(fields: String) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            condition.lock()
            if closed {
                condition.unlock()
                c.resume(throwing: AuditError(path: path, line: 0, reason: "closed"))
                return
            }
            queue.append((fields, c))
            condition.signal()
            condition.unlock()
        }
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll()
            condition.unlock()

            var text = ""
            var nextSeq = seq
            var nextPrev = prev
            for item in batch {
                nextSeq += 1
                let body = "{\"seq\":\(nextSeq),\(item.fields),\"prev\":\"\(nextPrev)\"}"
                let hash = Hex.encode(SHA256.hash(Array(body.utf8)))
                text += String(body.dropLast()) + ",\"hash\":\"\(hash)\"}\n"
                nextPrev = hash
            }
            let bytes = Array(text.utf8)
            var written = 0
            var failure: (any Error)?
            while written < bytes.count {
                let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = AuditError(path: path, line: 0, reason: "write failed: \(String(cString: strerror(errno)))")
                    break
                }
                written += n
            }
            if failure == nil, fsync(fd) != 0 {
                failure = AuditError(path: path, line: 0, reason: "fsync failed: \(String(cString: strerror(errno)))")
            }
            if let failure {
                // The call is answered INTERNAL: nothing that could not be audited is acknowledged.
                for item in batch { item.continuation.resume(throwing: failure) }
            } else {
                seq = nextSeq
                prev = nextPrev
                for item in batch { item.continuation.resume() }
            }
        }
    }

    /// Writes what is queued, then stops the writer thread.
    public func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
        while thread?.isFinished == false { usleep(1000) }
        Glibc.close(fd)
    }
}

public struct AuditError: Error, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let reason: String
    public var description: String { line > 0 ? "\(path): line \(line): \(reason)" : "\(path): \(reason)" }
}

/// Checking a chain: every line's hash matches its content, its prev is the previous line's hash,
/// and seq goes up by one.
public enum AuditChain {
    struct Parsed {
        let seq: UInt64
        let prev: String
        let hash: String
        /// The text the hash covers: the line without `,"hash":"…"`.
        let body: String
    }

    static func parse(_ line: String) -> Parsed? {
        let suffixHash = ",\"hash\":\""
        let u = Array(line.utf8)
        // …,"prev":"<64>","hash":"<64>"}
        guard u.count > 160, u.last == UInt8(ascii: "}") else { return nil }
        let hashStart = u.count - 2 - 64
        let hashKeyStart = hashStart - suffixHash.utf8.count
        guard hashKeyStart > 0, String(decoding: u[hashKeyStart..<hashStart], as: UTF8.self) == suffixHash,
              u[u.count - 2] == UInt8(ascii: "\"") else { return nil }
        let hash = String(decoding: u[hashStart..<(hashStart + 64)], as: UTF8.self)
        let body = String(decoding: u[0..<hashKeyStart], as: UTF8.self) + "}"
        let prevKey = ",\"prev\":\""
        let prevStart = hashKeyStart - 1 - 64
        let prevKeyStart = prevStart - prevKey.utf8.count
        guard prevKeyStart > 0, String(decoding: u[prevKeyStart..<prevStart], as: UTF8.self) == prevKey else { return nil }
        let prev = String(decoding: u[prevStart..<(prevStart + 64)], as: UTF8.self)
        let seqKey = Array("{\"seq\":".utf8)
        guard u.starts(with: seqKey) else { return nil }
        var i = seqKey.count
        var seq: UInt64 = 0
        while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
            seq = seq &* 10 &+ UInt64(u[i] - 0x30)
            i += 1
        }
        guard i > seqKey.count, i < u.count, u[i] == UInt8(ascii: ",") else { return nil }
        return Parsed(seq: seq, prev: prev, hash: hash, body: body)
    }

    public struct Report: Sendable, Equatable {
        public let records: Int
        /// The last line's hash: keep it elsewhere to detect the end of the file being cut off.
        public let head: String
    }

    /// Verifies the file; throws `AuditError` naming the first line that is altered, or follows a
    /// removed or altered line.
    public static func verify(path: String) throws -> Report {
        let text: String
        do { text = try readFile(path) } catch { throw AuditError(path: path, line: 0, reason: "\(error)") }
        return try verify(text: text, path: path)
    }

    public static func verify(text: String, path: String = "<audit>") throws -> Report {
        var prev = AuditLog.genesis
        var lastSeq: UInt64 = 0
        var count = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let n = index + 1
            if raw.isEmpty {
                if index == lines.count - 1 { break }
                throw AuditError(path: path, line: n, reason: "empty line: a record was removed or altered here")
            }
            guard let p = parse(String(raw)) else {
                throw AuditError(path: path, line: n, reason: "altered: not an audit record of the expected shape")
            }
            guard Hex.encode(SHA256.hash(Array(p.body.utf8))) == p.hash else {
                throw AuditError(path: path, line: n, reason: "altered: its hash does not match its content")
            }
            guard p.prev == prev else {
                throw AuditError(path: path, line: n, reason: n == 1
                    ? "does not start the chain (prev is not the genesis hash): lines before it were removed"
                    : "prev does not match line \(n - 1)'s hash: a line before it was removed, inserted or rewritten")
            }
            guard p.seq == lastSeq + 1 else {
                throw AuditError(path: path, line: n, reason: "seq \(p.seq) follows \(lastSeq): records were removed")
            }
            prev = p.hash
            lastSeq = p.seq
            count += 1
        }
        return Report(records: count, head: prev)
    }
}

/// The `npi` and `activity_id` string fields of an encoded request, at any depth, read with the
/// request's protoc-c descriptor. Tolerates malformed bytes (a denied call was never decoded).
enum AuditSubjects {
    static func extract(_ payload: ByteBuffer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>?) -> (activity: String, npis: [String], npiCount: Int) {
        guard let descriptor else { return ("", [], 0) }
        var activity = ""
        var npis = Set<String>()
        payload.withUnsafeReadableBytes { bytes in
            walk(bytes, descriptor: descriptor, depth: 0, activity: &activity, npis: &npis)
        }
        let sorted = npis.sorted()
        return (activity, Array(sorted.prefix(100)), sorted.count)
    }

    private static func walk(_ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>, depth: Int,
                             activity: inout String, npis: inout Set<String>) {
        guard depth < 16 else { return }
        var i = 0
        func varint() -> UInt64? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        while i < bytes.count {
            guard let key = varint() else { return }
            let number = UInt32(truncatingIfNeeded: key >> 3)
            switch key & 7 {
            case 0: guard varint() != nil else { return }
            case 1: i += 8
            case 5: i += 4
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - i) else { return }
                let slice = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + Int(length))])
                i += Int(length)
                guard let field = protobuf_c_message_descriptor_get_field(descriptor, number) else { continue }
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    let name = String(cString: field.pointee.name)
                    if name == "npi" {
                        npis.insert(String(decoding: slice.prefix(32), as: UTF8.self))
                        if npis.count > 100_000 { return }
                    } else if name == "activity_id", activity.isEmpty {
                        activity = String(decoding: slice.prefix(128), as: UTF8.self)
                    }
                case PROTOBUF_C_TYPE_MESSAGE:
                    let sub = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                    walk(slice, descriptor: sub, depth: depth + 1, activity: &activity, npis: &npis)
                default: break
                }
            default: return
            }
        }
    }
}
