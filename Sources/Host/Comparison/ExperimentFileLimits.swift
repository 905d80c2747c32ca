import Yams

/// Bounds on an experiment file, checked before and while YAML is parsed, so that a
/// hostile or damaged file is an error instead of a crash or a hang: the YAML
/// library builds nested values recursively (thousands of nesting levels overflow the
/// stack), and a few aliases can stand for billions of nodes ("billion laughs"). An
/// experiment file is a short mapping a few levels deep; the limits are far above.
enum ExperimentFileLimits {
    static let maxBytes = 1 << 20
    static let maxDepth = 64
    static let maxNodes = 100_000

    /// Size and nesting depth, from the text: block nesting (a stack of indentation
    /// levels plus `- ` / `? ` indicators on a line) plus flow nesting (`[`, `{`
    /// outside quotes and comments). It may over-count, never under-count.
    static func checkBeforeParsing(_ text: String, file: String) throws {
        guard text.utf8.count <= maxBytes else {
            throw Experiment.ParseError.invalid("\(file): \(text.utf8.count) bytes; an experiment file is at most \(maxBytes) bytes")
        }
        var indents: [Int] = []
        var flow = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let bytes = Array(line.utf8)
            var i = bytes.prefix { $0 == 0x20 }.count
            if flow == 0, i < bytes.count, bytes[i] != 0x23 {
                while let last = indents.last, last >= i { indents.removeLast() }
                indents.append(i)
            }
            var block = indents.count
            var quote: UInt8?
            while i < bytes.count {
                let c = bytes[i]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == 0x22 || c == 0x27 {
                    quote = c
                } else if c == 0x23, i == 0 || bytes[i - 1] == 0x20 {
                    break
                } else if c == 0x5B || c == 0x7B {
                    flow += 1
                } else if c == 0x5D || c == 0x7D {
                    flow = max(0, flow - 1)
                } else if (c == 0x2D || c == 0x3F), i + 1 == bytes.count || bytes[i + 1] == 0x20 {
                    block += 1
                }
                if block + flow > maxDepth {
                    throw Experiment.ParseError.invalid("\(file), line \(number + 1): nested more than \(maxDepth) levels deep")
                }
                i += 1
            }
        }
    }

    /// The number of nodes and the depth with aliases expanded (aliases can nest
    /// deeper than the text does); counting stops once over.
    static func checkNodes(_ node: Node, file: String) throws {
        var budget = maxNodes
        guard fits(node, depth: 1, budget: &budget) else {
            throw Experiment.ParseError.invalid("\(file): more than \(maxNodes) YAML nodes or \(maxDepth) levels (aliases expanded); an experiment file is a short mapping")
        }
        // The YAML library turns a mapping into a dictionary with text keys and stops
        // the process on any other key (a list or a mapping used as a key).
        guard onlyScalarKeys(node) else {
            throw Experiment.ParseError.invalid("\(file): a mapping key is a list or a mapping; keys of an experiment file are option names")
        }
    }

    /// Whether every mapping key in the tree (within the bounds `fits` checked) is a scalar.
    static func onlyScalarKeys(_ node: Node) -> Bool {
        switch node {
        case .scalar: return true
        case let .sequence(sequence): return sequence.allSatisfy(onlyScalarKeys)
        case let .mapping(mapping):
            return mapping.allSatisfy { pair in
                if case .scalar = pair.key { return onlyScalarKeys(pair.value) }
                return false
            }
        }
    }

    static func fits(_ node: Node, depth: Int, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0, depth <= maxDepth else { return false }
        switch node {
        case .scalar: return true
        case let .sequence(sequence): return sequence.allSatisfy { fits($0, depth: depth + 1, budget: &budget) }
        case let .mapping(mapping):
            return mapping.allSatisfy { fits($0.key, depth: depth + 1, budget: &budget) && fits($0.value, depth: depth + 1, budget: &budget) }
        }
    }
}
