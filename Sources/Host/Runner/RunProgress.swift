import CILSDK
import Foundation

/// Progress of a run on standard error: on a terminal a live line per epoch
/// (phase, epoch, loss, learning rate, images/s, time left in the phase) that
/// updates as batches finish; otherwise one plain line per epoch.
final class RunProgress {
    let isTerminal: Bool
    let quiet: Bool
    private var phase = 0, phases = 0, epoch = 0, epochs = 0, imagesPerEpoch = 0
    private var learningRate: Float = 0
    private var imagesDone = 0, lossSum = 0.0, batches = 0
    private var epochStart = Date()
    private var phaseStart = Date()

    init(quiet: Bool = false) {
        isTerminal = isatty(STDERR_FILENO) == 1
        self.quiet = quiet
    }

    private func write(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func note(_ message: String) { write("cil: \(message)\n") }

    /// A warning: printed even with `--quiet` (on its own line after a live line).
    func warn(_ message: String) {
        let lead = isTerminal && !quiet ? "\n" : ""
        FileHandle.standardError.write(Data("\(lead)cil: warning: \(message)\n".utf8))
    }

    func epochStarted(phase: Int, phases: Int, epoch: Int, epochs: Int, images: Int, learningRate: Float) {
        if epoch == 0 { phaseStart = Date() }
        (self.phase, self.phases, self.epoch, self.epochs, imagesPerEpoch) = (phase, phases, epoch, epochs, images)
        self.learningRate = learningRate
        imagesDone = 0; lossSum = 0; batches = 0
        epochStart = Date()
    }

    private var line: String {
        let elapsed = max(Date().timeIntervalSince(epochStart), 1e-6)
        let rate = Double(imagesDone) / elapsed
        let phaseElapsed = Date().timeIntervalSince(phaseStart)
        let fraction = (Double(epoch) + Double(imagesDone) / Double(max(imagesPerEpoch, 1))) / Double(max(epochs, 1))
        let left = fraction > 0 ? phaseElapsed / fraction - phaseElapsed : 0
        return String(format: "phase %d/%d epoch %d/%d loss %.4f lr %.5g %.0f img/s phase left %@",
                      phase, phases - 1, epoch + 1, epochs, lossSum / Double(max(batches, 1)), Double(learningRate),
                      rate, Self.duration(left))
    }

    func batchDone(images: Int, loss: Float) {
        imagesDone += images; lossSum += Double(loss); batches += 1
        if isTerminal { write("\r\u{1B}[K" + line) }
    }

    func epochDone(meanLoss: Double, alphas: [Float]) {
        let alphaText = alphas.isEmpty ? "" : " alpha " + alphas.map { String(format: "%.6f", $0) }.joined(separator: ",")
        write((isTerminal ? "\r\u{1B}[K" : "") + line + alphaText + "\n")
    }

    func phaseDone(_ r: PhaseResult, of phases: Int) {
        write(String(format: "phase %d/%d done: %d classes, CNN %.2f%% NME %.2f%% (base classes: CNN %.2f%% NME %.2f%%), %.1f s\n",
                     r.phase, phases - 1, r.classes_seen, 100 * r.acc_cnn, 100 * r.acc_nme, 100 * r.acc_cnn_base,
                     100 * r.acc_nme_base, r.seconds))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
