import Foundation
import Testing

/// `cil bench` runs real training steps and reports their rate, memory and FLOPs. This
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
        #expect(report["model"] as? String == "resnet32")
        #expect(report["image_size"] as? Int == 32)
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
        // Both branches run every level, the first one with its stem: 2·(442,368 +
        // 68,681,728) + 6,400 = 138,254,592 multiply-adds; training 2·(3·forward − 2·stem).
        #expect(abs((report["gflop_per_eval_image"] as? Double ?? 0) - 0.276509184) < 1e-9)
        #expect(abs((report["gflop_per_training_image"] as? Double ?? 0) - 0.82775808) < 1e-8)
    }

    @Test func resnet18RunsOn224PixelImages() throws {
        let out = try CommandRunner.run(["bench", "--model", "resnet18", "--batch", "2", "--steps", "1", "--warmup", "0", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let report = try CommandRunner.json(out)
        #expect(report["model"] as? String == "resnet18")
        #expect(report["image_size"] as? Int == 224)
        #expect((report["images_per_second"] as? Double ?? 0) > 0)
        // ImageNet ResNet-18 at 224×224, 100 classes: 1,813,612,544 multiply-adds
        // forward (stem 7×7/2 3→64 on 112×112: 118,013,952; layer1 4 × 115,605,504 =
        // 462,422,016; layer2-4 each 57,802,752 + 3 × 115,605,504 + 6,422,528 (1×1
        // shortcut) = 411,041,792; head 51,200); training 2·(3·forward − stem).
        #expect(abs((report["gflop_per_eval_image"] as? Double ?? 0) - 3.627225088) < 1e-9)
        #expect(abs((report["gflop_per_training_image"] as? Double ?? 0) - 10.64564736) < 1e-8)
    }

    @Test func resnet18DualRunsTheMANetsNetwork() throws {
        let out = try CommandRunner.run(["bench", "--model", "resnet18", "--branch-mode", "dual", "--image-size", "32",
                                         "--batch", "2", "--steps", "1", "--warmup", "0", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let report = try CommandRunner.json(out)
        #expect(report["model"] as? String == "resnet18")
        #expect(report["branch_mode"] as? String == "dual")
        #expect(report["image_size"] as? Int == 32)
        #expect((report["images_per_second"] as? Double ?? 0) > 0)
        // At 32×32 (maps 16, 8, 4, 2, 1): stem 2,408,448, layer1 9,437,184, layer2-4
        // 8,388,608 each, head 51,200; dual: 2·(stem + levels) + head = 74,074,112.
        #expect(abs((report["gflop_per_eval_image"] as? Double ?? 0) - 0.148148224) < 1e-9)
        #expect(abs((report["gflop_per_training_image"] as? Double ?? 0) - 0.43481088) < 1e-8)
    }

    @Test func rejectsAnUnknownModelAndATinyImage() throws {
        let model = try CommandRunner.run(["bench", "--model", "resnet50"])
        #expect(model.status != 0)
        #expect(model.stderr.contains("--model resnet50: expected resnet32 or resnet18"), "stderr: \(model.stderr)")
        let size = try CommandRunner.run(["bench", "--model", "resnet18", "--image-size", "4"])
        #expect(size.status != 0)
        #expect(size.stderr.contains("--image-size"), "stderr: \(size.stderr)")
    }

    @Test func rejectsABatchOfOne() throws {
        let out = try CommandRunner.run(["bench", "--batch", "1"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("--batch"))
    }
}
