import ArgumentParser
import LVAPI
import LVMessages
import LVRPC

/// `lvctl admin …`: operator methods (lv.admin.v1.Admin) of lv-registration, lv-engagement, lv-assessment.
struct AdminCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator methods of the services with a database.",
        subcommands: [Backup.self])

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an online, consistent backup of a service's SQLite database.",
            discussion: """
                The service writes the copy to <data-dir>/backups/NAME on its own host while it keeps serving \
                writes; every write acknowledged before this command was sent is in it. Restore: stop the \
                service, replace <data-dir>/<service>.sqlite with the copy (removing any -wal and -shm files \
                beside it), start the service (docs/OPERATIONS.md, "Backup and restore").
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The backup file's name (letters, digits, '.', '-', '_'); default <service>-<UTC time>.sqlite.")
        var name: String = ""

        func run() async throws {
            var request = Lv_Admin_V1_BackupRequest()
            request.name = name
            let response = try await connection.target.withClient { client in
                do {
                    return try await Lv_Admin_V1_AdminClient(client).backup(request, options: CallOptions(timeout: .seconds(Int64(max(connection.timeout, 300)))))
                } catch {
                    throw ErrorJSON.fail(error, command: "admin backup", json: connection.json)
                }
            }
            if connection.json {
                printJSON(BackupOutput(path: response.path, sizeBytes: response.sizeBytes, schemaVersion: response.schemaVersion,
                                       snapshotUnixMs: response.snapshotUnixMs))
            } else {
                print("backup \(response.path) \(response.sizeBytes) bytes, schema version \(response.schemaVersion)")
            }
        }
    }
}

struct BackupOutput: Encodable {
    let path: String
    let sizeBytes: UInt64
    let schemaVersion: UInt32
    let snapshotUnixMs: Int64
}
