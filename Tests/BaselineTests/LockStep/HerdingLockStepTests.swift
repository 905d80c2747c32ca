import CILSDK
import Foundation
import Testing

/// Herding, class means and NME in lock-step with the original code
/// (Tests/Vectors/lockstep, case 4): the original's phase-0 network (eval mode) on
/// the 20 pool images of each of classes 0..4, 8 exemplars per class, the class
/// means with the original's CIFAR "flip" (the channel order reversed), and NME
/// predictions for the 60 other images.
@Suite("Lock-step with the original code: herding and NME")
struct HerdingLockStepTests {
    let pool: LockStep.Pool
    let vectors: SafeTensorsFile
    let network: AggregatedNetwork

    init() throws {
        pool = try LockStep.Pool()
        vectors = try LockStep.file("herding.safetensors")
        network = try LockStep.phaseZeroNetwork(instantiate(BuiltPlugins.lucir()), file: "phase0_final.safetensors",
                                                branchMode: .single)
    }

    func rows(_ t: [Float], _ d: Int = 64) -> [[Float]] { t.chunks(d) }

    @Test func featuresMatch() throws {
        let indices = try vectors.int64s("pool_indices").map(Int.init)
        let error = LockStep.scaledError(LockStep.features(network, pool, indices).scalars, try vectors.floats("features"))
        #expect(error < 2e-5, "eval-mode features differ by \(error)")
    }

    /// Herding on the original's features gives its ranks exactly, and so does
    /// herding on cil's own features.
    @Test func herdingRanksAreTheOriginals() throws {
        let ranks = try vectors.int64s("ranks").map(Int.init).chunks(20)
        let original = try vectors.floats("features")
        let indices = try vectors.int64s("pool_indices").map(Int.init)
        let mine = LockStep.features(network, pool, indices).scalars
        for c in 0..<5 {
            for (source, features) in [("the original's features", original), ("cil's features", mine)] {
                let slice = Array(features[(c * 20 * 64)..<((c + 1) * 20 * 64)])
                let result = Herding.rank(features: slice, count: 20, dimension: 64, target: 8)
                #expect(result.ranks == ranks[c], "class \(c), \(source): ranks \(result.ranks), original \(ranks[c])")
            }
        }
    }

    /// Class means from cil's features of the exemplars and of their flipped copies
    /// (`ExemplarFlip` in faithful CIFAR mode), then the NME predictions.
    @Test func classMeansAndNMEPredictions() throws {
        let ranks = try vectors.int64s("ranks").map(Int.init).chunks(20)
        let flip = ExemplarFlip.of(mode: .faithful, preprocessing: .cifar)
        #expect(flip == .channelSwap(.lucirCIFAR))
        var means: [[Float]] = []
        for c in 0..<5 {
            let exemplars = (0..<20).filter { ranks[c][$0] > 0 && ranks[c][$0] <= 8 }.map { c * 20 + $0 }
            let batch = pool.testBatch(exemplars)
            network.setTraining(false)
            let features = withNoGrad { network.forward(batch).features.scalars }
            let flipped = withNoGrad { network.forward(flip.apply(batch)!).features.scalars }
            means.append(NearestMeanOfExemplars.classMean(rows(features), rows(flipped)))
        }
        let meanError = LockStep.scaledError(means.flatMap { $0 }, try vectors.floats("class_means"))
        #expect(meanError < 2e-5, "class means differ by \(meanError)")
        let testIndices = try vectors.int64s("test_pool_indices").map(Int.init)
        let testFeatures = rows(LockStep.features(network, pool, testIndices).scalars)
        let predictions = testFeatures.map { NearestMeanOfExemplars.predict($0, means: means) }
        #expect(predictions == (try vectors.int64s("nme_pred").map(Int.init)))
        // And from the original's own features and means.
        let theirs = rows(try vectors.floats("test_features")).map {
            NearestMeanOfExemplars.predict($0, means: rows(try! vectors.floats("class_means")))
        }
        #expect(theirs == (try vectors.int64s("nme_pred").map(Int.init)))
    }
}
