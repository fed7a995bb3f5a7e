import ArgumentParser
import Foundation
import SMSDispatch
import SMSServer
import SMSStore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Load CSV files: bulk messages into the spool, or numbers into the DNCR.",
        subcommands: [Spool.self, DNCR.self])

    struct Spool: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a bulk file (campaign;destination;message;priority[;extra…]); refused whole if any line is bad.")
        @Argument(help: "The CSV file (UTF-8, ';'-separated).") var file: String
        @Flag(name: .customLong("dry-run"), help: "Report what the file would do without queuing anything.") var dryRun = false
        @OptionGroup var storageOptions: StorageOptions

        func run() async throws {
            let name = (file as NSString).lastPathComponent
            let report = try await storageOptions.withStorage { _, storage in
                try await SpoolImport(storage: storage).run(
                    path: file, fileName: name, dryRun: dryRun, createdBy: nil,
                    progress: { _, read, total in ProgressBar.update(label: dryRun ? "checking" : "importing", read: read, total: total) })
            }
            ProgressBar.finish()
            say(Self.describe(report))
            if report.refused { throw ExitCode(2) }
        }

        static func describe(_ r: SpoolImportReport) -> String {
            var lines: [String] = []
            if r.refused {
                lines.append("\(r.fileName): refused, \(r.issues.count) problem\(r.issues.count == 1 ? "" : "s"); nothing was queued")
                lines += r.issues.map { "  \($0)" }
                return lines.joined(separator: "\n")
            }
            lines.append("\(r.fileName): \(r.dryRun ? "dry run, nothing queued" : "\(r.queued) messages queued")")
            lines.append("  rows            \(r.rows)")
            lines.append("  valid numbers   \(r.valid)")
            lines.append("  invalid numbers \(r.invalid) (loaded as invalid, never sent)")
            lines.append("  duplicates      \(r.duplicates)")
            lines.append("  DNCR            \(r.blockedByDNCR)")
            lines.append("  opted out       \(r.optedOut)")
            lines.append("  to send         \(r.toSend), \(r.segments) segments ("
                         + r.encodings.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
            lines.append("  campaigns       " + r.campaigns.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            return lines.joined(separator: "\n")
        }
    }

    struct DNCR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dncr", abstract: "Add numbers to the do-not-contact register (number;campaign; — empty campaign: all).")
        @Argument(help: "The CSV file.") var file: String
        @OptionGroup var storageOptions: StorageOptions

        func run() async throws {
            let report = try await storageOptions.withStorage { _, storage in
                try await DNCRImport(storage: storage).run(path: file, createdBy: nil)
            }
            if report.refused {
                say("\(file): refused, \(report.issues.count) problem\(report.issues.count == 1 ? "" : "s"); nothing was added")
                for issue in report.issues { say("  \(issue)") }
                throw ExitCode(2)
            }
            say("\(file): \(report.rows) rows, \(report.added) added, \(report.alreadyListed) already listed")
        }
    }
}

/// A one-line progress bar on standard error.
enum ProgressBar {
    static let width = 30

    @Sendable static func update(label: String, read: Int64, total: Int64) {
        guard total > 0 else { return }
        let fraction = min(1, Double(read) / Double(total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))%".utf8))
    }

    static func finish() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}
