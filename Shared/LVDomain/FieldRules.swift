import LVMessages


/// Rules every service applies to fields from the wire: lengths, characters, shapes, ranges.
/// Each service's `Domain/` names which rule applies to which of its fields (and the service
/// docs list them); the checks themselves live here so that every service words them alike.
public enum FieldLimits {
    /// Client request ids, submission ids and other opaque ids chosen by clients.
    public static let requestIDBytes = 128
    /// People's names, specialties, licence numbers, boards and other short labels.
    public static let nameBytes = 200
    /// Titles of activities, sessions, instruments.
    public static let titleBytes = 500
    /// Free text: objectives, item stems and options, comments, commitments.
    public static let textBytes = 4_000
    /// Email addresses (RFC 5321's path limit).
    public static let emailBytes = 254
    /// Calendar dates accepted anywhere (birthdays are month/day only, so this is for activities and measures).
    public static let earliestDay = "2000-01-01"
    public static let latestDay = "2100-12-31"
    /// Timestamps (ms since the Unix epoch) accepted anywhere: 2000-01-01T00:00:00Z …
    public static let earliestMs: Int64 = 946_684_800_000
    /// … and 2100-12-31T23:59:59.999Z.
    public static let latestMs: Int64 = 4_133_980_799_999
}

extension Violations {
    /// A string field: at most `max` UTF-8 bytes, required or not, and the characters allowed by `chars`.
    public mutating func text(_ s: String, _ field: String, max: Int, required: Bool = false,
                              chars: TextCharacters = .singleLine) {
        if required && s.trimmedIsEmpty {
            return add(field, "required", "a value is required")
        }
        let bytes = s.utf8.count
        guard bytes <= max else {
            return add(field, "length", "\(bytes) bytes; at most \(max)")
        }
        if let bad = chars.firstForbidden(in: s) {
            add(field, "printable", "contains the control character U+\(String(bad.value, radix: 16, uppercase: true)); \(chars.rule)")
        }
    }

    /// A request id or other opaque client id: required, printable ASCII, at most 128 bytes.
    public mutating func requestID(_ s: String, _ field: String = "request_id") {
        guard !s.isEmpty else { return add(field, "required", "every create needs a client request id so a retry is safe") }
        guard s.utf8.count <= FieldLimits.requestIDBytes else {
            return add(field, "length", "\(s.utf8.count) bytes; at most \(FieldLimits.requestIDBytes)")
        }
        if !LogSafe.isPrintableASCII(s) { add(field, "printable-ascii", "only printable ASCII (0x20-0x7E)") }
    }

    /// An email address: empty, or local@domain with a dot in the domain, no spaces, at most 254 bytes.
    public mutating func email(_ s: String, _ field: String) {
        guard !s.isEmpty else { return }
        guard s.utf8.count <= FieldLimits.emailBytes else {
            return add(field, "length", "\(s.utf8.count) bytes; at most \(FieldLimits.emailBytes)")
        }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        let ok = parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !parts[1].contains("..")
            && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && !$0.properties.isWhitespace }
        require(ok, field, "email", "not an email address (local@domain.tld)")
    }

    /// A "YYYY-MM-DD" date between 2000-01-01 and 2100-12-31; returns it when valid.
    @discardableResult
    public mutating func day(_ s: String, _ field: String) -> CalendarDay? {
        guard let d = CalendarDay(s) else {
            add(field, "date", "'\(LogSafe.clip(s, 16))' is not a YYYY-MM-DD date")
            return nil
        }
        guard d >= CalendarDay(FieldLimits.earliestDay)!, d <= CalendarDay(FieldLimits.latestDay)! else {
            add(field, "range", "dates run from \(FieldLimits.earliestDay) to \(FieldLimits.latestDay)")
            return nil
        }
        return d
    }

    /// A timestamp (ms since the Unix epoch) within `range`.
    public mutating func timestamp(_ t: Int64, _ field: String, in range: ClosedRange<Int64>, _ what: String) {
        require(range.contains(t), field, "range", "\(what)")
    }

    /// At most `max` entries in a list.
    public mutating func count(_ n: Int, _ field: String, max: Int) {
        require(n <= max, field, "count", "\(n) entries; at most \(max)")
    }
}

/// Which characters a string field may hold.
public enum TextCharacters: Sendable {
    /// Names, ids, titles: no control characters at all (C0, DEL, C1, line and paragraph separators, bidi overrides).
    case singleLine
    /// Free text: as `singleLine`, but tab and newline are allowed.
    case multiLine

    var rule: String {
        switch self {
        case .singleLine: return "no control characters"
        case .multiLine: return "no control characters other than tab and newline"
        }
    }

    func firstForbidden(in s: String) -> Unicode.Scalar? {
        for u in s.unicodeScalars {
            let v = u.value
            if v >= 0x20 && v < 0x7F { continue }
            if self == .multiLine && (v == 0x09 || v == 0x0A) { continue }
            if v < 0x20 || (v >= 0x7F && v <= 0x9F) || v == 0x2028 || v == 0x2029 || (v >= 0x202A && v <= 0x202E)
                || (v >= 0x2066 && v <= 0x2069) {
                return u
            }
        }
        return nil
    }
}

/// Arithmetic on values from peers that cannot trap.
public enum Checked {
    /// `a - b`, or nil when it does not fit in Int64.
    public static func difference(_ a: Int64, _ b: Int64) -> Int64? {
        let (r, o) = a.subtractingReportingOverflow(b)
        return o ? nil : r
    }

    /// `a + b` clamped to Int64's range.
    public static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? (b > 0 ? .max : .min) : r
    }
}

extension CalendarDay {
    /// Milliseconds since the Unix epoch at 00:00 UTC of this day (days-from-civil, proleptic Gregorian).
    public var epochMilliseconds: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400_000
    }
}

extension String {
    var trimmedIsEmpty: Bool { allSatisfy(\.isWhitespace) }
}
