import Foundation

extension JSONEncoder {
    /// The encoder of the JSON files cil writes for people and scripts (`config.json`,
    /// `results.json`, `comparison.json`, `slurm/jobs.json`): indented, keys sorted and
    /// slashes unescaped, so that the same content gives the same bytes, files diff line
    /// by line, and paths read as typed. A new encoder on every use (an encoder is a
    /// mutable class; a caller may add a strategy of its own).
    static var cil: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
