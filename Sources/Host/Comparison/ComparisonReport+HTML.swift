import Foundation

/// index.html: the summary table, the plot and links to the other files.
extension ComparisonReport {
    var html: String {
        let rows = baselines.flatMap { b in b.arms.map { a in
            "<tr><td>\(b.name)</td><td>\(a.name)</td><td>\(a.seeds.count)</td><td>\(Self.percent(a.avg_inc_acc_cnn))</td><td>\(Self.delta(a.delta_avg_inc_acc_cnn))</td><td>\(Self.percent(a.avg_inc_acc_nme))</td><td>\(Self.delta(a.delta_avg_inc_acc_nme))</td><td>\(Self.percent(a.last_acc_cnn))</td><td>\(Self.percent(a.forgetting_cnn))</td></tr>"
        } }.joined(separator: "\n")
        let failed = failures.map { "<li>\($0.baseline) / \($0.arm) / seed \($0.seed): \($0.reason)</li>" }.joined()
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>cil comparison</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}</style>
        </head><body>
        <h1>Comparison</h1>
        <p>\(protocol_summary ?? "")</p>
        <table><tr><th>baseline</th><th>arm</th><th>seeds</th><th>avg inc CNN %</th><th>Δ</th><th>avg inc NME %</th><th>Δ</th><th>last CNN %</th><th>forgetting CNN</th></tr>
        \(rows)
        </table>
        \(settingsHTML)
        <p><img src="comparison.svg" alt="accuracy against number of classes"></p>
        \(failed.isEmpty ? "" : "<h2>Failed or unfinished runs</h2><ul>\(failed)</ul>")
        <p>Files: <a href="comparison.md">comparison.md</a>, <a href="comparison.csv">comparison.csv</a>, <a href="comparison.json">comparison.json</a>.</p>
        </body></html>
        """
    }
}
