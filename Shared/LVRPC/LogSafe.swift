#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Returns freed heap to the OS after large requests and closed connections (glibc keeps it
/// otherwise): `malloc_trim(0)` on NIO's blocking thread pool, at most once per `interval`.
public enum MemoryReturn {
    private static let last = NIOLockedValueBox<NIODeadline>(.uptimeNanoseconds(0))
    public static let interval = TimeAmount.milliseconds(500)

    /// Asks for a trim; returns at once.
    public static func soon() {
        #if canImport(Glibc)
        let now = NIODeadline.now()
        let due = last.withLockedValue { last -> Bool in
            guard now - last >= interval else { return false }
            last = now
            return true
        }
        guard due else { return }
        guard let trim = Glibc.trim else { return }
        NIOThreadPool.singleton.submit { state in
            guard case .active = state else { return }
            _ = trim(0)
        }
        #endif
    }

    /// Bounds glibc's malloc arenas (each thread otherwise may get its own, and keeps its free memory).
    public static func limitArenas(_ count: Int) {
        #if canImport(Glibc)
        if count > 0, let mallopt = Glibc.mallopt { _ = mallopt(Glibc.arenaMax, Int32(count)) }
        #endif
    }

    #if canImport(Glibc)
    /// glibc's malloc.h functions, which the Glibc module does not export: looked up once.
    private enum Glibc {
        typealias Trim = @convention(c) (Int) -> Int32
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        /// M_ARENA_MAX in malloc.h.
        static let arenaMax: Int32 = -8
        static let trim: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim").map { unsafeBitCast($0, to: Trim.self) }
        static let mallopt: MallOpt? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt").map { unsafeBitCast($0, to: MallOpt.self) }
    }
    #endif
}
