import GatewayDomain

/// Inline SVG charts. Each is a labelled image (`role="img"`, `<title>`, `<desc>`) whose marks
/// carry their numbers as `data-*` attributes and as visible text, so colour is never the only
/// carrier of meaning and a test can read the numbers back. Plain functions of their inputs.
public enum Charts {
    /// Width in SVG units of a bar standing for the whole (the funnel's registered participants).
    public static let barWidth = 400.0

    /// One step of a funnel.
    public struct Step: Sendable {
        public var label: String
        public var count: UInt32
        public init(_ label: String, _ count: UInt32) { (self.label, self.count) = (label, count) }
    }

    /// A bar's length for `count` of `top`: proportional, `barWidth` for the whole (2 decimals).
    public static func barLength(_ count: UInt32, of top: UInt32) -> Double {
        guard top > 0 else { return 0 }
        return ((min(1, Double(count) / Double(top))) * barWidth * 100).rounded() / 100
    }

    static func n2(_ x: Double) -> String { fixed(x, 2) }

    static func svg(id: String, title: String, description: String, width: Double, height: Double, _ body: [HTML]) -> HTML {
        elA("svg", [("id", id), ("class", "chart"), ("role", "img"), ("aria-labelledby", "\(id)-title \(id)-desc"),
                    ("viewBox", "0 0 \(n2(width)) \(n2(height))"), ("preserveAspectRatio", "xMinYMin meet"),
                    ("xmlns", "http://www.w3.org/2000/svg")],
            [elA("title", [("id", "\(id)-title")], [t(title)]), elA("desc", [("id", "\(id)-desc")], [t(description)])] + body)
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", cls: String = "") -> HTML {
        var a = [("x", n2(x)), ("y", n2(y))]
        if anchor != "start" { a.append(("text-anchor", anchor)) }
        if !cls.isEmpty { a.append(("class", cls)) }
        return elA("text", a, [t(s)])
    }

    /// Horizontal bars, each a subset of the one above; lengths relative to `top`.
    public static func funnel(id: String, title: String, steps: [Step], top: UInt32) -> HTML {
        let label = 170.0, row = 30.0
        var marks: [HTML] = []
        for (i, s) in steps.enumerated() {
            let y = Double(i) * row + 6
            let w = barLength(s.count, of: top)
            let share = top > 0 ? " (\(fixed(100 * Double(s.count) / Double(top), 0))%)" : ""
            marks.append(text(0, y + 15, s.label))
            marks.append(elA("rect", [("class", "bar funnel-bar"), ("x", n2(label)), ("y", n2(y)), ("width", n2(w)), ("height", "20"),
                                      ("data-step", s.label), ("data-count", "\(s.count)")]))
            marks.append(text(label + w + 6, y + 15, "\(s.count)\(share)", cls: "value"))
        }
        let desc = steps.map { "\($0.label) \($0.count)" }.joined(separator: "; ")
        return svg(id: id, title: title, description: desc, width: label + barWidth + 90, height: Double(steps.count) * row + 10, marks)
    }

    /// A row of a forest plot: an estimate with its 95 % CI.
    public struct Interval: Sendable {
        public var label: String
        public var value: Double
        public var lower: Double?
        public var upper: Double?
        public var note: String
        public var significant: Bool
        public init(label: String, value: Double, lower: Double?, upper: Double?, note: String, significant: Bool) {
            (self.label, self.value, self.lower, self.upper, self.note, self.significant) = (label, value, lower, upper, note, significant)
        }
    }

    /// The linear map from [lo, hi] onto [x0, x0 + width].
    struct Scale {
        var lo: Double, hi: Double, x0: Double, width: Double
        func callAsFunction(_ v: Double) -> Double { hi > lo ? x0 + (v - lo) / (hi - lo) * width : x0 }
    }

    /// Per-row estimates with CIs against a zero line; significance shown by a filled mark and the word.
    public static func forest(id: String, title: String, unit: String, rows: [Interval]) -> HTML {
        let label = 150.0, plot = 360.0, row = 26.0
        var ends: [Double] = [0]
        for r in rows { ends += [r.lower ?? r.value, r.upper ?? r.value, r.value] }
        var lo: Double = ends.min() ?? 0, hi: Double = ends.max() ?? 1
        if hi - lo < 1e-9 { (lo, hi) = (lo - 1, hi + 1) }
        let pad = (hi - lo) * 0.05
        let x = Scale(lo: lo - pad, hi: hi + pad, x0: label, width: plot)
        let height = Double(rows.count) * row + 30
        var marks: [HTML] = [
            elA("line", [("class", "zero"), ("x1", n2(x(0))), ("x2", n2(x(0))), ("y1", "0"), ("y2", n2(height - 22))]),
            text(x(0), height - 8, "0 \(unit)", anchor: "middle", cls: "axis"),
            text(label, height - 8, fixed(lo - pad, 1), anchor: "start", cls: "axis"),
            text(label + plot, height - 8, fixed(hi + pad, 1), anchor: "end", cls: "axis"),
        ]
        for (i, r) in rows.enumerated() {
            let y = Double(i) * row + 14
            var attrs = [("class", "estimate \(r.significant ? "significant" : "not-significant")"), ("cx", n2(x(r.value))), ("cy", n2(y)), ("r", "5"),
                         ("data-label", r.label), ("data-value", "\(r.value)")]
            if let l = r.lower, let u = r.upper {
                attrs += [("data-lower", "\(l)"), ("data-upper", "\(u)")]
                marks.append(elA("line", [("class", "ci"), ("x1", n2(x(l))), ("x2", n2(x(u))), ("y1", n2(y)), ("y2", n2(y))]))
            }
            marks.append(text(0, y + 4, r.label))
            marks.append(elA("circle", attrs))
            marks.append(text(label + plot + 8, y + 4, r.note, cls: "value"))
        }
        let desc = rows.map { r in
            "\(r.label): \(signed(r.value, 1))" + (r.lower.flatMap { l in r.upper.map { " (95% CI \(fixed(l, 1)) to \(fixed($0, 1)))" } } ?? "") + (r.significant ? ", significant" : ", not significant")
        }.joined(separator: "; ")
        return svg(id: id, title: title, description: desc, width: label + plot + 170, height: height, marks)
    }

    /// A line through points at named positions (pre, post, follow-up…), values on a 0–100 % axis.
    public struct Series: Sendable {
        public var label: String
        /// One value per position; nil where absent (the line is broken there, never drawn to zero).
        public var values: [Double?]
        public var dashed: Bool
        public init(label: String, values: [Double?], dashed: Bool = false) { (self.label, self.values, self.dashed) = (label, values, dashed) }
    }

    /// Lines over `positions` on a 0–100 % axis. `percentPerUnit` converts a value to percent
    /// (100 for shares 0–1, 1 for values already in percent); `data-value` keeps the value as given.
    public static func lines(id: String, title: String, positions: [String], series: [Series], percentPerUnit: Double = 100) -> HTML {
        let left = 44.0, plotW = 320.0, plotH = 180.0, top = 10.0, legend = 200.0
        let step = positions.count > 1 ? plotW / Double(positions.count - 1) : 0
        func y(_ v: Double) -> Double { top + (1 - min(1, max(0, v * percentPerUnit / 100))) * plotH }
        var marks: [HTML] = []
        for tick in [0.0, 25, 50, 75, 100] {
            let ty = top + (1 - tick / 100) * plotH
            marks.append(elA("line", [("class", "grid"), ("x1", n2(left)), ("x2", n2(left + plotW)), ("y1", n2(ty)), ("y2", n2(ty))]))
            marks.append(text(left - 6, ty + 4, "\(Int(tick))%", anchor: "end", cls: "axis"))
        }
        for (i, p) in positions.enumerated() { marks.append(text(left + Double(i) * step, top + plotH + 18, p, anchor: "middle", cls: "axis")) }
        for (k, s) in series.enumerated() {
            var segment: [String] = []
            func flush() {
                if segment.count > 1 {
                    marks.append(elA("polyline", [("class", "series s\(k % 6)\(s.dashed ? " dashed" : "")"), ("fill", "none"), ("points", segment.joined(separator: " "))]))
                }
                segment = []
            }
            for (i, v) in s.values.enumerated() {
                guard let v else { flush(); continue }
                let px = left + Double(i) * step
                segment.append("\(n2(px)),\(n2(y(v)))")
                marks.append(elA("circle", [("class", "point s\(k % 6)"), ("cx", n2(px)), ("cy", n2(y(v))), ("r", "3.5"),
                                            ("data-series", s.label), ("data-position", positions[i]), ("data-value", "\(v)")]))
            }
            flush()
            let ly = top + Double(k) * 18 + 8
            marks.append(elA("line", [("class", "series s\(k % 6)\(s.dashed ? " dashed" : "")"), ("x1", n2(left + plotW + 16)), ("x2", n2(left + plotW + 36)), ("y1", n2(ly)), ("y2", n2(ly))]))
            let last = s.values.compactMap { $0 }.map { "\(fixed(percentPerUnit * $0, 0))%" }.joined(separator: " → ")
            marks.append(text(left + plotW + 40, ly + 4, "\(s.label): \(last)", cls: "legend"))
        }
        let desc = series.map { s in
            "\(s.label): " + zip(positions, s.values).map { "\($0) \($1.map { "\(fixed(percentPerUnit * $0, 1))%" } ?? "absent")" }.joined(separator: ", ")
        }.joined(separator: "; ")
        return svg(id: id, title: title, description: desc, width: left + plotW + legend + 60, height: max(top + plotH + 28, Double(series.count) * 18 + 20), marks)
    }

    /// A part of a whole, with its label (a class of the validation gap).
    public struct Part: Sendable {
        public var label: String
        public var count: UInt32
        public var cls: String
        public init(label: String, count: UInt32, cls: String) { (self.label, self.count, self.cls) = (label, count, cls) }
    }

    /// One bar split into parts (each labelled with its count and share below the bar, and patterned by class).
    public static func stacked(id: String, title: String, parts: [Part]) -> HTML {
        let total = parts.reduce(0) { $0 + Double($1.count) }
        var x = 0.0
        var marks: [HTML] = []
        for (i, p) in parts.enumerated() {
            let w = total > 0 ? (Double(p.count) / total * barWidth * 100).rounded() / 100 : 0
            marks.append(elA("rect", [("class", "part \(p.cls)"), ("x", n2(x)), ("y", "0"), ("width", n2(w)), ("height", "28"),
                                      ("data-part", p.label), ("data-count", "\(p.count)")]))
            let share = total > 0 ? fixed(100 * Double(p.count) / total, 0) + "%" : "—"
            marks.append(elA("rect", [("class", "part \(p.cls)"), ("x", "0"), ("y", n2(44 + Double(i) * 20)), ("width", "12"), ("height", "12")]))
            marks.append(text(18, 54 + Double(i) * 20, "\(p.label): \(p.count) (\(share))", cls: "legend"))
            x += w
        }
        let desc = parts.map { "\($0.label) \($0.count)" }.joined(separator: "; ")
        return svg(id: id, title: title, description: desc, width: barWidth + 40, height: 50 + Double(parts.count) * 20, marks)
    }

    /// A point per physician: x and y in their own units, with the axis names.
    public static func scatter(id: String, title: String, xLabel: String, yLabel: String, points: [(Double, Double)], summary: String) -> HTML {
        let left = 50.0, plotW = 360.0, plotH = 200.0, top = 10.0
        let xs = points.map(\.0), ys = points.map(\.1) + [0]
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 - x0 < 1e-9 { (x0, x1) = (x0 - 1, x1 + 1) }
        if y1 - y0 < 1e-9 { (y0, y1) = (y0 - 1, y1 + 1) }
        let sx = Scale(lo: x0, hi: x1, x0: left, width: plotW)
        func sy(_ v: Double) -> Double { top + plotH - (v - y0) / (y1 - y0) * plotH }
        var marks: [HTML] = [
            elA("line", [("class", "axis-line"), ("x1", n2(left)), ("x2", n2(left + plotW)), ("y1", n2(top + plotH)), ("y2", n2(top + plotH))]),
            elA("line", [("class", "zero"), ("x1", n2(left)), ("x2", n2(left + plotW)), ("y1", n2(sy(0))), ("y2", n2(sy(0)))]),
            text(left + plotW / 2, top + plotH + 34, xLabel, anchor: "middle", cls: "axis"),
            text(left, top + plotH + 16, fixed(x0, 0), cls: "axis"), text(left + plotW, top + plotH + 16, fixed(x1, 0), anchor: "end", cls: "axis"),
            text(left - 6, sy(y1) + 4, fixed(y1, 0), anchor: "end", cls: "axis"), text(left - 6, sy(y0) + 4, fixed(y0, 0), anchor: "end", cls: "axis"),
            elA("text", [("class", "axis"), ("transform", "translate(12 \(n2(top + plotH / 2))) rotate(-90)"), ("text-anchor", "middle")], [t(yLabel)]),
        ]
        for (x, y) in points {
            marks.append(elA("circle", [("class", "dot"), ("cx", n2(sx(x))), ("cy", n2(sy(y))), ("r", "3"), ("data-x", "\(x)"), ("data-y", "\(y)")]))
        }
        return svg(id: id, title: title, description: summary, width: left + plotW + 20, height: top + plotH + 44, marks)
    }
}
