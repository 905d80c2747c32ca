import Foundation
import Testing

/// `cil --version` / `cil env`: the BLAS core is chosen for the CPU unless the user
/// chose one, and it is reported.
@Suite("cil env")
struct EnvCommandTests {
    @Test func versionNamesTheBLASCore() throws {
        let out = try CommandRunner.run(["--version"], environment: ["OPENBLAS_CORETYPE": nil])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stdout.contains("BLAS core:"))
        #expect(!out.stdout.contains("unavailable"))
    }

    @Test func detectsTheCoreWhenTheUserSetNone() throws {
        let out = try CommandRunner.run(["env", "--json"], environment: ["OPENBLAS_CORETYPE": nil])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        let detected = info["blas_detected_coretype"] as? String ?? ""
        let core = (info["blas_core"] as? String ?? "").uppercased()
        if detected == "none" {
            #expect(info["blas_core_source"] as? String == "library")
        } else {
            #expect(info["blas_core_source"] as? String == "detected")
            // OpenBLAS reports the family it runs; it must be the one cil chose,
            // never the Prescott fallback on a CPU with AVX2 or AVX-512.
            #expect(core == detected, "cil chose \(detected), OpenBLAS runs \(core)")
            #expect(core != "PRESCOTT")
        }
    }

    @Test func respectsAUserSetCoreType() throws {
        let out = try CommandRunner.run(["env", "--json"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["blas_core_source"] as? String == "user")
        #expect((info["blas_core"] as? String)?.uppercased() == "PRESCOTT")
    }
}
