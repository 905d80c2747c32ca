// 10_lr_schedules.json: the learning rate of every epoch under MultiStepLR and
// CosineAnnealingLR, for the faithful (epoch e uses last_epoch e+1) and the
// corrected (last_epoch e) stepping.

import CILSDK
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
}
