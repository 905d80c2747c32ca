import CILSDK
import Foundation

/// The safetensors file of `--init-from` or `--phase0-from FILE`, identified by its
/// SHA-256: two configurations are equal when their files have the same content,
/// wherever the files are (`file` is kept for the record and the messages). It is
/// part of the run's configuration (config.json), so a run directory refuses to
/// resume with a different file, and arms share a phase 0 only when they start
/// from the same one.
struct PhaseZeroWeights: Codable, Equatable {
    enum Use: String, Codable {
        /// `--init-from`: phase 0 trains, starting from the file's weights.
        case initialization = "init-from"
        /// `--phase0-from FILE`: the file is phase 0's network; phase 0 does not train.
        case trained = "phase0-from"
    }

    var use: Use
    /// The file's absolute path when the run was configured.
    var file: String
    /// Lower-case hex SHA-256 of the file.
    var sha256: String

    /// The flag as the user writes it.
    var flag: String { "--\(use.rawValue)" }

    static func == (a: PhaseZeroWeights, b: PhaseZeroWeights) -> Bool {
        a.use == b.use && a.sha256 == b.sha256
    }

    /// Lower-case hex SHA-256 of `bytes`.
    static func digest(_ bytes: [UInt8]) -> String {
        var hash = SHA256()
        bytes.withUnsafeBytes { hash.update($0) }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `--phase0-from PATH` names a weights file rather than a run
    /// directory: an existing path that is not a directory, or a missing one ending
    /// in `.safetensors`.
    static func isWeightsFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return !isDirectory.boolValue }
        return path.hasSuffix(".safetensors")
    }

    /// The weights `path` holds, checked to be a safetensors file. A file that can
    /// no longer be read is accepted only when `directory` has finished phase 0
    /// from the same path and use (then the file is not needed again, and its
    /// recorded digest stands in; `note` says so).
    static func resolve(_ use: Use, path: String, directory: RunDirectory, note: (String) -> Void) throws -> PhaseZeroWeights {
        let flag = "--\(use.rawValue)"
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(absolute, what: "the weights of \(flag)")
        } catch {
            if directory.lastCheckpointedPhase() != nil,
               let data = FileManager.default.contents(atPath: directory.configURL.path),
               let existing = try? JSONDecoder().decode(RunConfiguration.self, from: data),
               let recorded = existing.phaseZeroWeights, recorded.use == use, recorded.file == absolute {
                note("\(flag) \(path) cannot be read (\(error)); phase 0 is finished in \(directory.url.path), so the run continues without it (recorded sha256 \(recorded.sha256))")
                return recorded
            }
            throw RunError.configuration("\(flag) \(path): \(error)")
        }
        do {
            _ = try SafeTensorsFile(bytes: bytes, path: absolute)
        } catch {
            throw RunError.configuration("\(flag): \(error)")
        }
        return PhaseZeroWeights(use: use, file: absolute, sha256: digest(bytes))
    }

    /// Loads the file into `network` (the fresh phase-0 network): the file must be
    /// the one recorded (same SHA-256) and fit the network exactly.
    func load(into network: AggregatedNetwork) throws {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(file, what: "the weights of \(flag)")
        } catch {
            throw RunError.configuration("\(flag) \(file): \(error); phase 0 is not finished, so the run needs the file")
        }
        let now = Self.digest(bytes)
        guard now == sha256 else {
            throw RunError.configuration("\(flag) \(file) has changed since the run was configured (sha256 \(sha256) then, \(now) now); restore the file or use another --out")
        }
        do {
            try StateDict.load(try SafeTensorsFile(bytes: bytes, path: file), into: network)
        } catch {
            let expected = error is StateDictError
                ? "\nexpected phase 0's network: plain (no b1_model./b2_model. prefixes), backbone and head as configured, the head scoring the phase-0 classes (\(network.head.classCount))"
                : ""
            throw RunError.configuration("\(flag): \(error)\(expected)")
        }
    }
}
