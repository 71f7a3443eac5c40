/// A calendar date "YYYY-MM-DD", validated (leap years included) and comparable.
public struct CalendarDay: Comparable, Hashable, Sendable {
    /// Days in each month of a leap year (so February 29 is a valid birthday).
    public static let daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    public let year: Int
    public let month: Int
    public let day: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m) else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = m == 2 ? (leap ? 29 : 28) : CalendarDay.daysInMonth[m - 1]
        guard (1...days).contains(d) else { return nil }
        (year, month, day) = (y, m, d)
    }

    public static func < (a: CalendarDay, b: CalendarDay) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// Ids clients choose (activity, session, objective, instrument, item): 1-64 of letters, digits, '-', '_' or '.'.
public enum Identifier {
    public static func isValid(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46
        }
    }
}
