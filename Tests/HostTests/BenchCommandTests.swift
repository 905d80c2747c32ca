import Foundation
import Testing

/// `cil bench` runs real training steps and reports what issue 8 asks for. This
/// checks the report's content, never its speed (speed is measured by the command).
@Suite("cil bench")
struct BenchCommandTests {
    @Test func jsonReportHasTheRequiredKeys() throws {
        let out = try CommandRunner.run(["bench", "--batch", "4", "--steps", "1", "--warmup", "0", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let report = try CommandRunner.json(out)
        for key in ["images_per_second", "peak_rss_bytes", "blas_core", "threads", "model", "branch_mode", "batch"] {
            #expect(report[key] != nil, "missing \(key)")
        }
        #expect((report["images_per_second"] as? Double ?? 0) > 0)
        #expect(report["batch"] as? Int == 4)
    }

    @Test func dualModeRunsTheMANetsNetwork() throws {
        let out = try CommandRunner.run(["bench", "--branch-mode", "dual", "--batch", "4", "--steps", "1", "--warmup", "0", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let report = try CommandRunner.json(out)
        #expect(report["branch_mode"] as? String == "dual")
        #expect((report["images_per_second"] as? Double ?? 0) > 0)
    }

    @Test func rejectsABatchOfOne() throws {
        let out = try CommandRunner.run(["bench", "--batch", "1"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("--batch"))
    }
}
