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
        #expect(["off", "measured", "all"].contains(report["winograd"] as? String ?? ""), "winograd: \(String(describing: report["winograd"]))")
        // ResNet-32 on 32×32 inputs, 100 classes: 69,130,496 multiply-adds forward
        // (stem 442,368; three stages of 23,592,960 / 22,544,384 / 22,544,384; head
        // 6,400); a training step is 2·(3·forward − stem) FLOPs.
        #expect(abs((report["gflop_per_training_image"] as? Double ?? 0) - 0.41389824) < 1e-8)
        #expect(abs((report["gflop_per_eval_image"] as? Double ?? 0) - 0.138260992) < 1e-9)
        let peak = report["sgemm_peak_gflops"] as? Double ?? 0, fraction = report["fraction_of_sgemm_peak"] as? Double ?? -1
        #expect(peak > 0 && fraction > 0, "sgemm peak \(peak), fraction \(fraction)")
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
