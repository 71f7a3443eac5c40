import CBuildInfo

/// What release this binary is: printed by `--version`, sent in HELLO/HELLO_ACK
/// (`client_version`/`server_version`), exported as `lv_build_info`.
public enum BuildInfo {
    /// The release version. `make dist` names the tarball after it; bump it with every release.
    public static let version = "0.16.0"
    /// The git commit `make dist` built from ("unknown" for a plain `swift build`).
    public static let gitCommit = String(cString: lv_build_git_commit())
    /// The UTC date and time of the `make dist` build ("unknown" for a plain `swift build`).
    public static let buildDate = String(cString: lv_build_date())

    /// "0.16.0+abc1234": the version, a plus, the commit (what travels in HELLO and HELLO_ACK).
    public static var versionString: String {
        gitCommit == "unknown" ? "\(version)+unknown" : "\(version)+\(gitCommit.prefix(12))"
    }

    /// The `--version` text: "lv-registration 0.16.0 (commit abc1234…, built 2026-11-27T10:00:00Z)".
    public static func versionLine(_ program: String) -> String {
        "\(program) \(version) (commit \(gitCommit), built \(buildDate))"
    }
}
