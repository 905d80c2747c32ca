import CILSDK
import Foundation

/// comparison.csv: one row per arm, the summary figures and the paired Δ of average
/// incremental CNN accuracy.
extension ComparisonReport {
    var csv: String {
        var lines = ["baseline,arm,seeds,avg_inc_acc_cnn_mean,avg_inc_acc_cnn_std,avg_inc_acc_nme_mean,avg_inc_acc_nme_std,last_acc_cnn_mean,last_acc_nme_mean,forgetting_cnn_mean,delta_avg_inc_acc_cnn,delta_avg_inc_acc_nme,delta_last_acc_cnn,delta_forgetting_cnn,paired_seeds,delta_avg_inc_acc_cnn_ci95_low,delta_avg_inc_acc_cnn_ci95_high,verdict_avg_inc_acc_cnn"]
        func f(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
        for b in baselines {
            for a in b.arms {
                lines.append([b.name, a.name, String(a.seeds.count), f(a.avg_inc_acc_cnn.mean), f(a.avg_inc_acc_cnn.std),
                              f(a.avg_inc_acc_nme.mean), f(a.avg_inc_acc_nme.std), f(a.last_acc_cnn.mean), f(a.last_acc_nme.mean),
                              f(a.forgetting_cnn.mean), f(a.delta_avg_inc_acc_cnn), f(a.delta_avg_inc_acc_nme),
                              f(a.delta_last_acc_cnn), f(a.delta_forgetting_cnn),
                              a.paired.map { String($0.seeds.count) } ?? "", f(a.paired?.avg_inc_acc_cnn.low),
                              f(a.paired?.avg_inc_acc_cnn.high), a.paired?.avg_inc_acc_cnn.verdict.rawValue ?? ""]
                    .joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
