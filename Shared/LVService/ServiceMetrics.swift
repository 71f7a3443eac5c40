#if canImport(Glibc)
import Glibc
#endif
import Metrics
import LVRPC
import Prometheus

/// A swift-metrics factory over swift-prometheus that gives every metric a `# HELP` line (from
/// `help`, else a generic one naming the metric) and latency buckets from 50 µs up (calls here
/// take about 0.1 ms; swift-prometheus's default starts at 5 ms).
public struct ServiceMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry

    /// Help text for the metrics this project emits through swift-metrics.
    public static let help: [String: String] = [
        "lv_rpc_requests_total": "Calls answered, by method and gRPC status code name.",
        "lv_rpc_request_duration_seconds": "Time from a request's arrival to its response, by method.",
    ]

    /// 50 µs … 10 s, roughly ×2–2.5 per step.
    public static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    static let valueBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: Self.help[label] ?? "\(label) (see docs/OPERATIONS.md).")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate
            ? registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.valueBuckets)
            : registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.latencyBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }
    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let g = handler as? Prometheus.Gauge { registry.unregisterGauge(g) }
        if let h = handler as? ValueHistogram { registry.unregisterValueHistogram(h) }
    }
    public func destroyMeter(_ handler: any MeterHandler) {
        if let g = handler as? Prometheus.Gauge { registry.unregisterGauge(g) }
    }
    public func destroyTimer(_ handler: any TimerHandler) {
        if let h = handler as? DurationHistogram { registry.unregisterDurationHistogram(h) }
    }

    /// `lv_build_info{service,version,commit,build_date} 1`.
    public func registerBuildInfo(service: String) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "lv_build_info", unitName: "",
                                             helpText: "Always 1; the labels say which release this process runs."),
            labels: [("service", service), ("version", BuildInfo.version), ("commit", BuildInfo.gitCommit),
                     ("build_date", BuildInfo.buildDate)]).set(Double(1))
    }
}

/// The standard Prometheus `process_*` metrics for this process, read from /proc at scrape time.
public enum ProcessMetrics {
    static let startTime: Double = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        // ServiceRunner reads this first thing at start-up, a few milliseconds after exec.
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }()

    /// Prometheus text lines (with HELP and TYPE) for CPU time, memory, file descriptors and start time.
    public static func text() -> String {
        var lines: [String] = []
        func add(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            lines.append("\(name) \(value)")
        }
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu)
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = read("/proc/self/statm")?.split(separator: " "), statm.count >= 2,
           let vm = Double(statm[0]), let rss = Double(statm[1]) {
            add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss * pageSize)
            add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vm * pageSize)
        }
        add("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors())
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            add("process_max_fds", "gauge", "Maximum number of open file descriptors.", Double(limit.rlim_cur))
        }
        add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTime)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingSuffix()
    }

    private static func openFileDescriptors() -> Double? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return Double(max(0, count - 3)) // ".", ".." and the directory's own descriptor
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var s = self
        while let last = s.last, last == "\n" || last == " " { s.removeLast() }
        return s
    }
}
