import Foundation
import FuzzSupport
import Host
import Testing

/// The experiment-file parser (`cil compare FILE`) under random mutation of valid
/// files: every text either plans its runs or is refused with an error naming the
/// file; never a crash, a hang or an absurd allocation, whatever YAML it holds.
@Suite("Fuzz: experiment-file parser")
struct ExperimentFileFuzzTests {
    static let path = "/experiments/fuzz.yaml"

    static func corpus() throws -> [[UInt8]] {
        let examples = PluginFixtures.packageRoot.appendingPathComponent("Examples/experiments")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }.sorted()
        var corpus = try files.map { Array(try Data(contentsOf: examples.appendingPathComponent($0))) }
        corpus.append(Array(CompareCommandTests.experiment.utf8))
        corpus.append(Array("base: &b {epochs: 1, nb_cl: 2}\narms:\n  one: *b\n  two: {branch_mode: dual}\nseeds: [1, 2]\n".utf8))
        return corpus
    }

    static func isClear(_ error: any Error) -> Bool {
        UntrustedInputs.isUserFacing(error) && "\(error)".contains(path)
    }

    @Test func everyMutatedExperimentFileParsesOrIsRefusedClearly() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 3)
        let report = FuzzCampaign.run("experiment-file", corpus: corpus, text: true, isClear: Self.isClear) { bytes in
            let runs = try UntrustedInputs.experiment(String(decoding: bytes, as: UTF8.self), path: Self.path)
            #expect(!runs.isEmpty && runs.allSatisfy { $0.first == "run" })
        }
        #expect(report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }

    /// Nine levels of aliases, each naming the one below nine times, stand for 9⁹
    /// (387 million) nodes: refused quickly by the node budget, not expanded.
    @Test func aliasExpansionBombIsRefused() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1 ... 9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        let start = Date()
        #expect(throws: (any Error).self) { _ = try UntrustedInputs.experiment(text, path: Self.path) }
        do { _ = try UntrustedInputs.experiment(text, path: Self.path) } catch {
            #expect("\(error)".contains("more than 100000 YAML nodes or 64 levels"), "\(error)")
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// Deep nesting, in the text (flow or block) or through a chain of aliases, is
    /// refused by depth before the YAML library recurses into it (which overflowed
    /// the stack: a crash the fuzz tests found).
    @Test func deepNestingIsRefused() throws {
        var chain = "a0: &a0 [x]\n"
        for level in 1 ..< 200 { chain += "a\(level): &a\(level) [*a\(level - 1)]\n" }
        let cases = [
            ("flow", "seeds: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n", "nested more than 64 levels deep"),
            ("block", (0 ..< 100).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n", "nested more than 64 levels deep"),
            ("dashes", "seeds: " + String(repeating: "- ", count: 3000) + "1\n", "nested more than 64 levels deep"),
            ("aliases", chain, "more than 100000 YAML nodes or 64 levels"),
        ]
        for (name, text, message) in cases {
            do {
                _ = try UntrustedInputs.experiment(text, path: Self.path)
                Issue.record("\(name): accepted")
            } catch {
                #expect(Self.isClear(error) && "\(error)".contains(message), "\(name): \(error)")
            }
        }
        // A legitimate file a few levels deep still parses.
        #expect(try !UntrustedInputs.experiment("arms:\n  a:\n    branch_mode: single\nseeds:\n  - 1\n  - 2\n", path: Self.path).isEmpty)
    }

    /// A list or a mapping as a mapping key (which stopped the process inside the YAML
    /// library: a crash the fuzz tests found) is refused with a clear error, also
    /// nested, also through an alias.
    @Test(arguments: ["[a, b]: 1\n", "? [seeds]\n: [1]\n", "arms:\n  {x: 1}: 2\n", "k: &k [1]\nm:\n  *k : 3\n", "{[1]: x}\n"])
    func nonScalarKeyIsRefused(_ text: String) throws {
        do {
            _ = try UntrustedInputs.experiment(text, path: Self.path)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(Self.isClear(error) && "\(error)".contains("a mapping key is a list or a mapping"), "\(text): \(error)")
        }
    }
}
