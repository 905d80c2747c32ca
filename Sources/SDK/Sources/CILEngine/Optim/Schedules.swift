import Foundation

/// When a trainer steps its LR scheduler, as the epoch → `last_epoch` map it gives
/// (docs/ALGORITHMS.md §1.7). The constructor of a PyTorch scheduler already sets
/// last_epoch = 0, so what a trainer calls afterwards decides which value each epoch
/// trains with.
public enum SchedulerStepping: String, Sendable, Codable, CaseIterable {
    /// The MANets trainers: `scheduler.step()` at the START of every epoch, so epoch e
    /// uses the value for last_epoch = e + 1.
    case faithful
    /// Conventional usage (`scheduler.step()` at the end of every epoch): epoch e uses
    /// the value for last_epoch = e.
    case corrected
    /// PODNet's trainer: `scheduler.step(epoch)` at the END of epoch e sets last_epoch
    /// = e, so epoch e >= 1 uses the value for e − 1 and epochs 0 and 1 both use the
    /// value for 0.
    case lagging

    /// The scheduler's `last_epoch` for 0-based epoch index `epoch`.
    public func lastEpoch(forEpoch epoch: Int) -> Int {
        switch self {
        case .faithful: return epoch + 1
        case .corrected: return epoch
        case .lagging: return max(epoch - 1, 0)
        }
    }
}

/// A learning-rate schedule as a function of PyTorch's `last_epoch`.
public protocol LearningRateSchedule: Sendable {
    /// The learning rate when the scheduler's last_epoch is `lastEpoch`.
    func learningRate(lastEpoch: Int) -> Float
}

extension LearningRateSchedule {
    /// The learning rate used during 0-based epoch `epoch` under `stepping`.
    public func learningRate(epoch: Int, stepping: SchedulerStepping) -> Float {
        learningRate(lastEpoch: stepping.lastEpoch(forEpoch: epoch))
    }
}

/// torch MultiStepLR: base · γ^(number of milestones ≤ last_epoch).
public struct MultiStepSchedule: LearningRateSchedule {
    public var base: Float
    public var milestones: [Int]
    public var gamma: Float

    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        self.base = base
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }

    /// Milestones at int(0.5·E) and int(0.75·E), the original CIFAR setting.
    public static func cifar(base: Float, epochs: Int, gamma: Float = 0.1) -> MultiStepSchedule {
        MultiStepSchedule(base: base, milestones: [Int(0.5 * Double(epochs)), Int(0.75 * Double(epochs))], gamma: gamma)
    }

    public func learningRate(lastEpoch: Int) -> Float {
        let passed = milestones.filter { $0 <= lastEpoch }.count
        return Float(Double(base) * pow(Double(gamma), Double(passed)))
    }
}

/// torch CosineAnnealingLR (closed form): η_min + (base − η_min)(1 + cos(π·t/T_max))/2.
public struct CosineSchedule: LearningRateSchedule {
    public var base: Float
    public var tMax: Int
    public var etaMin: Float

    public init(base: Float, tMax: Int, etaMin: Float = 0) {
        self.base = base
        self.tMax = tMax
        self.etaMin = etaMin
    }

    public func learningRate(lastEpoch: Int) -> Float {
        let t = Double(lastEpoch), T = Double(tMax)
        return Float(Double(etaMin) + (Double(base) - Double(etaMin)) * (1 + cos(Double.pi * t / T)) / 2)
    }
}

/// A constant learning rate.
public struct ConstantSchedule: LearningRateSchedule {
    public var base: Float
    public init(base: Float) { self.base = base }
    public func learningRate(lastEpoch: Int) -> Float { base }
}
