/// Minutes present from check-in/check-out intervals: overlaps and repeats merged, each
/// interval clipped to the session's scheduled window, so re-joining a virtual session or a
/// duplicated upload never counts the same minute twice.
public enum Presence {
    /// Milliseconds covered by the union of `intervals` within `window` (all in ms).
    public static func coveredMilliseconds(_ intervals: [(start: Int64, end: Int64)], window: (start: Int64, end: Int64)) -> Int64 {
        let clipped = intervals
            .map { (max($0.start, window.start), min($0.end, window.end)) }
            .filter { $0.0 < $0.1 }
            .sorted { $0.0 < $1.0 }
        var total: Int64 = 0
        var current: (Int64, Int64)?
        for (s, e) in clipped {
            if let (cs, ce) = current, s <= ce {
                current = (cs, max(ce, e))
            } else {
                if let (cs, ce) = current { total += ce - cs }
                current = (s, e)
            }
        }
        if let (cs, ce) = current { total += ce - cs }
        return total
    }

    /// Whole minutes (rounded down) covered by `intervals` within `window`.
    public static func minutes(_ intervals: [(start: Int64, end: Int64)], window: (start: Int64, end: Int64)) -> Int {
        Int(coveredMilliseconds(intervals, window: window) / 60_000)
    }
}
