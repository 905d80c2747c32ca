import Foundation
import FuzzSupport
import Host
import Testing

/// The checkpoint reader (`cil run` resuming) under random mutation. Most mutated
/// files get a valid SHA-256 appended, so the mutations reach the header and tensor
/// parsing behind the checksum (a checksum alone would refuse nearly all of them):
/// every file either parses or is refused with cil's own error naming it; never a
/// crash, a hang or an allocation for a length the file does not hold.
@Suite("Fuzz: checkpoint reader", .serialized)
struct CheckpointReaderFuzzTests {
    /// The JSON header of the phase-0 checkpoint of a tiny real run.
    static func realHeader() throws -> [String: Any] {
        let dir = RunCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CommandRunner.run(RunReliabilityTests.arguments(out: dir.path, extra: ["--epochs", "1", "--classes-per-phase", "2,4",
                                                                                         "--images-per-class", "8", "--test-images-per-class", "2"]))
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let file = Array(try Data(contentsOf: dir.appendingPathComponent("checkpoints/phase-0.ckpt")))
        let length = file[8 ..< 16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return try #require(try JSONSerialization.jsonObject(with: Data(file[16 ..< 16 + length])) as? [String: Any])
    }

    /// A checkpoint without its checksum: magic, header length, `header` with
    /// `tensors` (name → shape) in place of the real ones, then `floats` values.
    static func body(_ header: [String: Any], tensors: [(String, [Int])], floats: Int) throws -> [UInt8] {
        var header = header
        header["tensors"] = tensors.map { ["name": $0.0, "shape": $0.1] }
        let json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        var body = Array("CILCKPT1".utf8)
        body += (0 ..< 8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
        body += json
        body += (0 ..< floats).flatMap { i -> [UInt8] in withUnsafeBytes(of: Float(i) * 0.5) { Array($0) } }
        return body
    }

    /// The real header with three small tensors (so that inputs stay small).
    static func smallCheckpointBody(_ header: [String: Any]) throws -> [UInt8] {
        try body(header, tensors: [("a", [2, 3]), ("b", [4]), ("c", [1, 1, 1])], floats: 11)
    }

    @Test func everyMutatedCheckpointParsesOrIsRefusedClearly() throws {
        // The header padded to a body length that is a multiple of 8, the length at which
        // a length-based raw/checksummed choice once refused every input.
        var header = try Self.realHeader()
        var padded: [UInt8]?
        for n in 0 ..< 8 where padded == nil {
            header["fuzz_padding"] = String(repeating: "x", count: n)
            let candidate = try Self.smallCheckpointBody(header)
            if candidate.count % 8 == 0 { padded = candidate }
        }
        let body = try #require(padded)
        let valid = try UntrustedInputs.checkpoint(UntrustedInputs.checksummed(body), path: "/runs/x/checkpoints/phase-0.ckpt")
        #expect(valid.phase == 0 && valid.tensors == 3)
        let report = FuzzCampaign.run("checkpoint", corpus: [body], text: true, isClear: { error in
            UntrustedInputs.isUserFacing(error) && "\(error)".contains("/runs/x/checkpoints/phase-0.ckpt")
        }) { bytes in
            // One mutated input in eight keeps its raw bytes (the checksum path), the
            // rest are checksummed so that the parser behind the checksum is reached.
            // The choice hashes the content, not the length: the real header's length
            // varies with its timings, and the unmutated body must always be checksummed
            // (it is the campaign's one input known to be valid).
            let keepRaw = bytes != body && Self.contentHash(bytes) % 8 == 0
            let file = keepRaw ? bytes : UntrustedInputs.checksummed(bytes)
            let parsed = try UntrustedInputs.checkpoint(file, path: "/runs/x/checkpoints/phase-0.ckpt")
            #expect(parsed.phase >= 0)
        }
        #expect(report.iterations > 1 && report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }

    /// FNV-1a over `bytes`: a content-derived choice that every mutation can change.
    static func contentHash(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// Lengths the file does not hold are refused before anything is allocated: a
    /// header length of 2⁶⁴−1, a tensor of 2³² × 2³² elements, a negative dimension.
    @Test func impossibleLengthsAreRefused() throws {
        let header = try Self.realHeader()
        var hugeHeader = try Self.smallCheckpointBody(header)
        for k in 8 ..< 16 { hugeHeader[k] = 0xFF }
        let cases: [(String, [UInt8], String)] = [
            ("header length 2^64-1", hugeHeader, "header length 18446744073709551615 exceeds the file"),
            ("shape 2^32 x 2^32", try Self.body(header, tensors: [("a", [1 << 32, 1 << 32])], floats: 4),
             "tensor a of shape [4294967296, 4294967296] runs past the end of the data"),
            ("shape overflowing Int", try Self.body(header, tensors: [("a", [1 << 62, 1 << 62, 16])], floats: 4),
             "tensor a of shape [4611686018427387904, 4611686018427387904, 16] runs past the end of the data"),
            ("negative dimension", try Self.body(header, tensors: [("a", [-2, 3])], floats: 4),
             "tensor a of shape [-2, 3] runs past the end of the data"),
        ]
        for (fault, body, message) in cases {
            do {
                _ = try UntrustedInputs.checkpoint(UntrustedInputs.checksummed(body), path: "p.ckpt")
                Issue.record("\(fault): accepted")
            } catch {
                #expect(UntrustedInputs.isUserFacing(error) && "\(error)".contains("checkpoint p.ckpt: " + message), "\(fault): \(error)")
            }
        }
    }
}
