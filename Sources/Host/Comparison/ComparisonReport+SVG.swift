import CILSDK
import Foundation

/// comparison.svg: accuracy against the number of classes, and the paired Δ.
extension ComparisonReport {
    /// Accuracy (CNN, solid, with a shaded band of ± 1 standard deviation over seeds;
    /// NME, dashed) against the number of classes, one panel per baseline, one colour
    /// per arm. When some arm has paired differences, a second row of panels shows
    /// each arm's paired Δ of CNN accuracy per phase (points) with its 95% interval.
    var svg: String {
        let panelW = 360.0, panelH = 260.0, deltaH = 160.0, margin = 48.0
        // A panel per baseline with at least one finished arm.
        let baselines = self.baselines.filter { !$0.arms.isEmpty }
        let deltaRow = baselines.contains { $0.arms.contains { $0.paired != nil } }
        let width = Double(max(baselines.count, 1)) * (panelW + margin) + margin
        let height = panelH + 2 * margin + 30 + (deltaRow ? deltaH + margin + 20 : 0)
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]
        for (i, b) in baselines.enumerated() {
            let x0 = margin + Double(i) * (panelW + margin), y0 = margin
            let allClasses = b.arms.flatMap(\.classes)
            let minC = Double(allClasses.min() ?? 0), maxC = Double(max(allClasses.max() ?? 1, (allClasses.min() ?? 0) + 1))
            func px(_ c: Int) -> Double { x0 + (Double(c) - minC) / (maxC - minC) * panelW }
            out += Self.accuracyPanel(b, x0: x0, y0: y0, width: panelW, height: panelH, px: px)
            if deltaRow {
                out += Self.deltaPanel(b, x0: x0, y0: y0 + panelH + margin + 30, width: panelW, height: deltaH, colors: Self.plotColors, px: px)
            }
        }
        let caption = "solid: CNN accuracy (band: ± 1 std over seeds); dashed: NME accuracy"
            + (deltaRow ? "; lower row: paired Δ CNN accuracy vs the first arm, 95% interval" : "")
        out.append("<text x=\"\(margin)\" y=\"\(height - 8)\" fill=\"#555\">\(caption)</text>")
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    /// The colours of the arms, in arm order (repeating).
    static let plotColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    /// The accuracy panel of one baseline: its title, frame, accuracy grid and class
    /// axis, each arm's CNN band and curves, and the legend; `px` maps classes to x.
    static func accuracyPanel(_ b: Baseline, x0: Double, y0: Double, width panelW: Double, height panelH: Double,
                              px: (Int) -> Double) -> [String] {
        let allClasses = b.arms.flatMap(\.classes)
        let bands = b.arms.flatMap { a in zip(a.acc_cnn_per_phase, a.acc_cnn_std_per_phase ?? []).flatMap { [$0 - $1, $0 + $1] } }
        let values = b.arms.flatMap { $0.acc_cnn_per_phase + $0.acc_nme_per_phase } + bands
        let lo = max(0, floor(((values.min() ?? 0) * 10) - 0.5) / 10), hi = min(1, ceil(((values.max() ?? 1) * 10) + 0.5) / 10)
        func py(_ a: Double) -> Double { y0 + panelH - (a - lo) / max(hi - lo, 1e-9) * panelH }
        var out = ["<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 - 14)\" text-anchor=\"middle\" font-weight=\"bold\">\(b.name)</text>",
                   "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelW)\" height=\"\(panelH)\" fill=\"none\" stroke=\"#444\"/>"]
        for k in 0...4 {
            let a = lo + (hi - lo) * Double(k) / 4
            out.append("<line x1=\"\(x0)\" x2=\"\(x0 + panelW)\" y1=\"\(py(a))\" y2=\"\(py(a))\" stroke=\"#ddd\"/>")
            out.append("<text x=\"\(x0 - 6)\" y=\"\(py(a) + 4)\" text-anchor=\"end\">\(Int((100 * a).rounded()))</text>")
        }
        for c in Set(allClasses).sorted() {
            out.append("<text x=\"\(px(c))\" y=\"\(y0 + panelH + 16)\" text-anchor=\"middle\">\(c)</text>")
        }
        out.append("<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 + panelH + 34)\" text-anchor=\"middle\">number of classes</text>")
        out.append("<text x=\"\(x0 - 34)\" y=\"\(y0 + panelH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 \(x0 - 34) \(y0 + panelH / 2))\">accuracy (%)</text>")
        for (j, a) in b.arms.enumerated() {
            let color = plotColors[j % plotColors.count]
            if let std = a.acc_cnn_std_per_phase, std.contains(where: { $0 > 0 }) {
                let upper = zip(a.classes, zip(a.acc_cnn_per_phase, std)).map { "\(px($0)),\(py($1.0 + $1.1))" }
                let lower = zip(a.classes, zip(a.acc_cnn_per_phase, std)).reversed().map { "\(px($0)),\(py($1.0 - $1.1))" }
                out.append("<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\"/>")
            }
            for (series, dash) in [(a.acc_cnn_per_phase, ""), (a.acc_nme_per_phase, " stroke-dasharray=\"5,4\"")] {
                let points = zip(a.classes, series).map { "\(px($0)),\(py($1))" }.joined(separator: " ")
                out.append("<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
                for (c, v) in zip(a.classes, series) {
                    out.append("<circle cx=\"\(px(c))\" cy=\"\(py(v))\" r=\"2.5\" fill=\"\(color)\"/>")
                }
            }
            let ly = y0 + 16 + Double(j) * 16
            out.append("<line x1=\"\(x0 + panelW - 120)\" x2=\"\(x0 + panelW - 100)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"/>")
            out.append("<text x=\"\(x0 + panelW - 96)\" y=\"\(ly)\">\(a.name)</text>")
        }
        return out
    }

    /// The Δ panel of one baseline: each non-reference arm's paired Δ of CNN accuracy
    /// after each phase (points, dot) with its 95% interval (a vertical bar), around a
    /// zero line.
    static func deltaPanel(_ b: Baseline, x0: Double, y0: Double, width: Double, height: Double,
                           colors: [String], px: (Int) -> Double) -> [String] {
        let series = b.arms.enumerated().compactMap { j, a in a.paired.map { (j, a, $0.acc_cnn_per_phase) } }
        let ends = series.flatMap { $0.2.flatMap { [$0.low ?? $0.mean, $0.high ?? $0.mean] } }.filter(\.isFinite)
        let span = max(ends.map(abs).max() ?? 0.01, 0.005) * 1.1
        func py(_ d: Double) -> Double { y0 + height / 2 - d / span * (height / 2) }
        var out = ["<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#444\"/>",
                   "<line x1=\"\(x0)\" x2=\"\(x0 + width)\" y1=\"\(py(0))\" y2=\"\(py(0))\" stroke=\"#888\"/>"]
        for d in [-span / 1.1, span / 1.1] {
            out.append("<text x=\"\(x0 - 6)\" y=\"\(py(d) + 4)\" text-anchor=\"end\">\(delta(d))</text>")
        }
        out.append("<text x=\"\(x0 - 34)\" y=\"\(y0 + height / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 \(x0 - 34) \(y0 + height / 2))\">Δ CNN (points)</text>")
        for (k, (j, a, deltas)) in series.enumerated() {
            let color = colors[j % colors.count], shift = Double(k) * 4
            for (c, d) in zip(a.classes, deltas) where d.mean.isFinite {
                let x = px(c) + shift
                if let low = d.low, let high = d.high {
                    out.append("<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(py(low))\" y2=\"\(py(high))\" stroke=\"\(color)\" stroke-width=\"2\"/>")
                }
                out.append("<circle cx=\"\(x)\" cy=\"\(py(d.mean))\" r=\"3\" fill=\"\(color)\"/>")
            }
        }
        return out
    }
}
