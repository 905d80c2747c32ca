import Foundation
import Testing

/// `cil protocol`: the resolved class order, phases and per-phase exemplar counts of
/// docs/ALGORITHMS.md §1.1-§1.4, and errors for settings the original code rejects.
@Suite("cil protocol")
struct ProtocolCommandTests {
    static let order1993 = [68, 56, 78, 8, 23, 84, 90, 65, 74, 76, 40, 89, 3, 92, 55, 9, 26, 80, 43, 38, 58, 70, 77, 1, 85, 19, 17,
                            50, 28, 53, 13, 81, 45, 82, 6, 59, 83, 16, 15, 44, 91, 41, 72, 60, 79, 52, 20, 10, 31, 54, 37, 95, 14, 71,
                            96, 98, 97, 2, 64, 66, 42, 22, 35, 86, 24, 34, 87, 21, 99, 0, 88, 27, 18, 94, 11, 12, 47, 25, 30, 46, 62,
                            69, 36, 61, 7, 63, 75, 5, 32, 4, 51, 48, 73, 93, 39, 67, 29, 49, 57, 33]

    @Test(arguments: [
        (10, [40, 34, 29, 25, 23, 20]),
        (5, [40, 37, 34, 31, 29, 27, 25, 24, 23, 22, 20]),
        (2, [40, 39, 38, 36, 35, 34, 33, 32, 31, 30, 29, 28, 28, 27, 26, 25, 25, 24, 24, 23, 23, 22, 22, 21, 21, 20]),
    ])
    func fixedBudgetPerPhase(nbCl: Int, expected: [Int]) throws {
        let out = try CommandRunner.run(["protocol", "--dataset", "cifar100", "--seed", "1993", "--nb-cl-fg", "50",
                                         "--nb-cl", String(nbCl), "--budget", "fixed", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["class_order"] as? [Int] == Self.order1993)
        #expect(info["exemplars_per_class"] as? [Int] == expected)
        let phases = try #require(info["phases"] as? [[String: Any]])
        #expect(phases.count == 50 / nbCl + 1)
        #expect(phases[0]["classes"] as? [Int] == Array(Self.order1993[0 ..< 50]))
        #expect(phases[1]["classes"] as? [Int] == Array(Self.order1993[50 ..< 50 + nbCl]))
        #expect(phases.last?["seen"] as? Int == 100)
        #expect(phases.map { $0["exemplars_per_class"] as? Int ?? -1 } == expected)
    }

    @Test func dynamicBudgetAndTheSeedsSpellings() throws {
        let out = try CommandRunner.run(["protocol", "--dataset", "cifar100", "--random_seed", "1993", "--nb_cl_fg", "50",
                                         "--nb_cl", "10", "--dynamic_budget", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["exemplars_per_class"] as? [Int] == [20, 20, 20, 20, 20, 20])
        #expect((info["budget"] as? [String: Any])?["mode"] as? String == "dynamic")
        #expect(info["nb_cl_fg"] as? Int == 50 && info["nb_cl"] as? Int == 10)
    }

    @Test func otherSeedsUseNumPysShuffle() throws {
        let out = try CommandRunner.run(["protocol", "--dataset", "synthetic", "--num-classes", "10", "--seed", "0",
                                         "--nb-cl-fg", "4", "--nb-cl", "2", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        // np.random.seed(0); np.random.shuffle(np.arange(10))
        #expect(info["class_order"] as? [Int] == [2, 8, 4, 9, 1, 6, 7, 3, 0, 5])
        #expect(info["classes_per_phase"] as? [Int] == [4, 2, 2, 2])
    }

    @Test func explicitClassCounts() throws {
        let out = try CommandRunner.run(["protocol", "--classes-per-phase", "40,20,20,20", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["classes_per_phase"] as? [Int] == [40, 20, 20, 20])
        #expect(info["exemplars_per_class"] as? [Int] == [50, 34, 25, 20])
        let text = try CommandRunner.run(["protocol"])
        #expect(text.status == 0 && text.stdout.contains("phase 5: labels 90..<100, 20 exemplars per class (2000 total)"))
    }

    @Test(arguments: [
        (["--nb-cl", "3"], "must be a multiple of --nb-cl (3)"),
        (["--nb-cl-fg", "5"], "must be at least --nb-cl (10)"),
        (["--nb-cl-fg", "48", "--nb-cl", "8"], "the original code would silently drop"),
        (["--nb-cl", "0"], "--nb-cl"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "4294967296"], "0...4294967295"),
        (["--budget", "huge"], "--budget huge"),
        (["--classes-per-phase", "50,x"], "'x' is not a whole number"),
        (["--classes-per-phase", "60,50"], "more than the 100 classes"),
        (["--dataset", "imagefolder", "--data-dir", "/nonexistent-cil"], "/nonexistent-cil/train"),
    ])
    func badInputIsAClearError(arguments: [String], message: String) throws {
        let out = try CommandRunner.run(["protocol"] + arguments)
        #expect(out.status != 0)
        #expect(out.stderr.contains(message), "stderr: \(out.stderr)")
        #expect(!out.stderr.contains("Fatal error"))
    }
}
