import CILSDK
import Host
import Testing

/// `PhaseClock`'s accounting on a time source the test moves by hand: each part counts
/// its own time only (a nested part's time is not also its outer part's), `other` is
/// the total minus the measured parts, so the parts sum to the total, and a carried
/// breakdown is counted on.
@Suite("PhaseClock")
struct PhaseClockTests {
    /// A time source the test sets.
    final class Time {
        var now = 0.0
    }

    @Test func nestedPartsAreDisjointAndSumToTheTotal() {
        let time = Time()
        let clock = PhaseClock(now: { time.now })
        time.now = 1 // 1 s before any part: other
        clock.measure(.trainingSteps) {
            time.now = 3 // 2 s of the step
            clock.measure(TimedWork.referenceForward) { time.now = 7 } // 4 s, through the SDK's WorkTimer
            time.now = 8 // 1 s
            clock.measure(.dataLoading) { time.now = 8.5 } // 0.5 s
            time.now = 10 // 1.5 s
        }
        clock.measure(.herding) {
            time.now = 11
            clock.measure(.dataLoading) { time.now = 13 }
        }
        let b = clock.breakdown(total: 15)
        #expect(b["training_steps"] == 4.5)
        #expect(b["reference_forward"] == 4)
        #expect(b["data_loading"] == 2.5)
        #expect(b["herding"] == 1)
        #expect(b["other"] == 3) // 1 s before, 2 s after
        #expect(b["evaluation"] == 0 && b["alpha_pass"] == 0)
        #expect(Set(b.keys) == Set(PhaseClock.Part.allCases.map(\.rawValue)))
        #expect(b.values.reduce(0, +) == 15)
    }

    @Test func aThrowingPartIsClosed() {
        struct Failure: Error {}
        let time = Time()
        let clock = PhaseClock(now: { time.now })
        #expect(throws: Failure.self) {
            try clock.measure(.evaluation) {
                time.now = 2
                try clock.measure(.classMeans) {
                    time.now = 5
                    throw Failure()
                }
            }
        }
        time.now = 6
        clock.measure(.imprinting) { time.now = 9 }
        let b = clock.breakdown(total: 10)
        #expect(b["evaluation"] == 2 && b["class_means"] == 3 && b["imprinting"] == 3 && b["other"] == 2)
    }

    @Test func aCarriedBreakdownIsCountedOnAndOtherIsRecomputed() {
        let time = Time()
        time.now = 100
        // An interrupted attempt's breakdown: its measured parts go on; its `other`
        // (and any name this cil does not know) does not.
        let clock = PhaseClock(carrying: ["training_steps": 5, "checkpoints": 0.25, "other": 99, "no_such_part": 7], now: { time.now })
        clock.measure(.trainingSteps) { time.now = 102 }
        let b = clock.breakdown(total: 20) // 12 s before the resume, 8 s after
        #expect(b["training_steps"] == 7)
        #expect(b["checkpoints"] == 0.25)
        #expect(b["no_such_part"] == nil)
        #expect(b["other"] == 12.75)
        #expect(b.values.reduce(0, +) == 20)
    }

    @Test func openPartsCountUpToNowAndOtherIsNeverNegative() {
        let time = Time()
        let clock = PhaseClock(now: { time.now })
        clock.measure(.checkpoints) {
            time.now = 4
            #expect(clock.seconds(of: .checkpoints) == 4)
            #expect(clock.breakdown(total: 5)["other"] == 1)
            // A total from another clock a little short of the parts.
            #expect(clock.breakdown(total: 3.999999)["other"] == 0)
        }
        #expect(clock.seconds(of: .other) == 0)
    }

    /// The real monotonic clock moves forward.
    @Test func monotonicSecondsAdvance() {
        let a = PhaseClock.monotonicSeconds()
        var x = 0.0
        for i in 0..<100_000 { x += Double(i) }
        #expect(x > 0 && PhaseClock.monotonicSeconds() >= a)
    }
}
