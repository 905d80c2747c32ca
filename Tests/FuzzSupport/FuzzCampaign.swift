import Foundation

/// A bounded fuzz campaign over one reader: mutated valid inputs for a fixed time
/// (`CIL_FUZZ_SECONDS`, default 2 s, or at most `CIL_FUZZ_ITERATIONS` inputs), from a
/// seed (`CIL_FUZZ_SEED`, default 1). The reader under test must, for every input,
/// either return (the input is valid) or throw an error the test calls clear. A crash
/// ends the test process (the seed, printed first, reproduces the sequence); an
/// input slower than `slowInputSeconds` (a hang in the making) and an unclear error
/// are collected in the report, whose test then fails.
public struct FuzzCampaign {
    public struct Finding: CustomStringConvertible {
        public var iteration: Int
        public var input: [UInt8]
        public var problem: String
        public var description: String {
            "iteration \(iteration) (\(input.count) bytes, first \(input.prefix(24).map { String(format: "%02x", $0) }.joined())): \(problem)"
        }
    }

    public struct Report: CustomStringConvertible {
        public var name: String
        public var seed: UInt64
        public var iterations = 0
        public var accepted = 0
        public var rejected = 0
        public var slowestSeconds = 0.0
        /// The process's peak resident memory at the end (bytes).
        public var peakResidentBytes = 0
        /// Unclear errors and slow inputs (at most 20 kept).
        public var findings: [Finding] = []
        public var description: String {
            "fuzz \(name): seed \(seed), \(iterations) inputs (\(accepted) accepted, \(rejected) refused), slowest \(String(format: "%.3f", slowestSeconds)) s, peak RSS \(peakResidentBytes >> 20) MiB, \(findings.count) findings"
        }
    }

    public static var environment: [String: String] { ProcessInfo.processInfo.environment }
    public static var seconds: Double { environment["CIL_FUZZ_SECONDS"].flatMap(Double.init) ?? 2 }
    public static var seed: UInt64 { environment["CIL_FUZZ_SEED"].flatMap { UInt64($0) } ?? 1 }
    public static var maxIterations: Int { environment["CIL_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? Int.max }

    /// Runs `body` on the corpus itself, then on mutations of it until the time is up.
    /// `body` returns for a valid input and throws for an invalid one; `isClear`
    /// decides whether a thrown error is one a user can act on.
    public static func run(_ name: String, corpus: [[UInt8]], text: Bool = false, slowInputSeconds: Double = 1,
                           seconds: Double = FuzzCampaign.seconds,
                           isClear: (any Error) -> Bool, _ body: ([UInt8]) throws -> Void) -> Report {
        var report = Report(name: name, seed: seed)
        FileHandle.standardError.write(Data("fuzz \(name): seed \(seed), \(seconds) s (CIL_FUZZ_SEED, CIL_FUZZ_SECONDS)\n".utf8))
        var mutator = Mutator(seed: seed ^ UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }))
        let end = Date().addingTimeInterval(seconds)
        while report.iterations < maxIterations, report.iterations < corpus.count || Date() < end {
            let input = report.iterations < corpus.count
                ? corpus[report.iterations]
                : mutator.mutate(corpus[mutator.below(corpus.count)], corpus: corpus, text: text)
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                try body(input)
                report.accepted += 1
            } catch {
                report.rejected += 1
                if !isClear(error), report.findings.count < 20 {
                    report.findings.append(Finding(iteration: report.iterations, input: input, problem: "unclear error: \(error)"))
                }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            report.slowestSeconds = max(report.slowestSeconds, elapsed)
            if elapsed > slowInputSeconds, report.findings.count < 20 {
                report.findings.append(Finding(iteration: report.iterations, input: input,
                                               problem: String(format: "took %.2f s", elapsed)))
            }
            report.iterations += 1
        }
        var usage = rusage()
        getrusage(__rusage_who_t(truncatingIfNeeded: RUSAGE_SELF.rawValue), &usage)
        report.peakResidentBytes = usage.ru_maxrss * 1024
        FileHandle.standardError.write(Data("\(report)\n".utf8))
        return report
    }
}
