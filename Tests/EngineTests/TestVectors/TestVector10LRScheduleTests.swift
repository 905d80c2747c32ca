// 10_lr_schedules.json: the learning rate of every epoch under MultiStepLR and
// CosineAnnealingLR, for the faithful (epoch e uses last_epoch e+1) and the
// corrected (last_epoch e) stepping; PODNet's lagging stepping (last_epoch
// max(e − 1, 0)) from the same unshifted values and from the cosine formula.

import CILSDK
import Foundation
import Testing

@Suite("TestVector 10 lr_schedules")
struct TestVectorLRScheduleTests {
    static let file = "10_lr_schedules.json"
    static let caseNames = ["multistep_cifar_network", "cosine_imagenet_network", "multistep_imagenet_fusion"]

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, Self.caseNames)
    }

    @Test("lr_faithful and lr_unshifted for every epoch", arguments: caseNames)
    func schedule(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let kind = try c.raw("params", "kind").stringValue
        let schedule: any LearningRateSchedule
        switch kind {
        case "MultiStepLR":
            let milestones = try #require(try c.raw("params", "milestones").arrayValue).compactMap(\.intValue)
            schedule = MultiStepSchedule(base: try c.floatParam("base_lr"), milestones: milestones,
                                         gamma: try c.floatParam("gamma"))
        case "CosineAnnealingLR":
            schedule = CosineSchedule(base: try c.floatParam("base_lr"), tMax: try c.intParam("T_max"),
                                      etaMin: try c.floatParam("eta_min"))
        default:
            Issue.record("\(c.label("kind")): unknown schedule \(kind ?? "nil")")
            return
        }
        let epochs = try c.intParam("epochs")
        let faithful = (0..<epochs).map { schedule.learningRate(epoch: $0, stepping: .faithful) }
        let corrected = (0..<epochs).map { schedule.learningRate(epoch: $0, stepping: .corrected) }
        expectVectorClose(faithful, try c.output("lr_faithful").values, c.tolerance, c.label("lr_faithful"))
        expectVectorClose(corrected, try c.output("lr_unshifted").values, c.tolerance, c.label("lr_unshifted"))
    }

    @Test("lagging (PODNet's step(epoch) at the end of epoch e) = lr_unshifted of max(e − 1, 0)", arguments: caseNames)
    func lagging(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let epochs = try c.intParam("epochs")
        let unshifted = try c.output("lr_unshifted").values
        let schedule: any LearningRateSchedule = try c.raw("params", "kind").stringValue == "MultiStepLR"
            ? MultiStepSchedule(base: try c.floatParam("base_lr"),
                                milestones: try #require(try c.raw("params", "milestones").arrayValue).compactMap(\.intValue),
                                gamma: try c.floatParam("gamma"))
            : CosineSchedule(base: try c.floatParam("base_lr"), tMax: try c.intParam("T_max"), etaMin: try c.floatParam("eta_min"))
        let lagging = (0..<epochs).map { schedule.learningRate(epoch: $0, stepping: .lagging) }
        expectVectorClose(lagging, (0..<epochs).map { unshifted[max($0 - 1, 0)] }, c.tolerance, c.label("lagging"))
    }

    @Test("PODNet's CIFAR cosine (lr 0.1, 160 epochs) under lagging stepping: 0.1, 0.1, then η(e − 1); never 0")
    func podnetCosine() {
        let schedule = CosineSchedule(base: 0.1, tMax: 160)
        #expect(SchedulerStepping.lagging.lastEpoch(forEpoch: 0) == 0 && SchedulerStepping.lagging.lastEpoch(forEpoch: 1) == 0)
        #expect(SchedulerStepping.lagging.lastEpoch(forEpoch: 159) == 158)
        let rates = (0..<160).map { schedule.learningRate(epoch: $0, stepping: .lagging) }
        for (e, rate) in rates.enumerated() {
            let t = Double(max(e - 1, 0))
            let expected = 0.1 * (1 + cos(Double.pi * t / 160)) / 2
            #expect(abs(Double(rate) - expected) < 1e-7, "epoch \(e): \(rate) vs \(expected)")
        }
        #expect(rates[0] == 0.1 && rates[1] == 0.1)
        #expect(abs(Double(rates[159]) - 0.1 * (1 + cos(Double.pi * 158 / 160)) / 2) < 1e-9 && rates[159] > 0)
        // Against the MANets shift and conventional stepping at the same epoch.
        #expect(schedule.learningRate(epoch: 80, stepping: .faithful) < schedule.learningRate(epoch: 80, stepping: .corrected))
        #expect(schedule.learningRate(epoch: 80, stepping: .corrected) < schedule.learningRate(epoch: 80, stepping: .lagging))
    }
}
