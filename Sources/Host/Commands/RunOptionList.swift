/// Reading `cil run` options given as a list of words (the options after `--` of
/// `cil compare`), in both spellings ArgumentParser accepts: `--flag VALUE` and
/// `--flag=VALUE`. As on a command line, the last occurrence wins.
enum RunOptionList {
    /// The value of the last `flag VALUE` or `flag=VALUE` in `arguments`.
    static func lastValue(of flag: String, in arguments: [String]) -> String? {
        var value: String?
        for (i, a) in arguments.enumerated() {
            if a == flag, arguments.indices.contains(i + 1) { value = arguments[i + 1] }
            if a.hasPrefix(flag + "=") { value = String(a.dropFirst(flag.count + 1)) }
        }
        return value
    }

    /// `arguments` without any `flag VALUE` or `flag=VALUE`.
    static func removing(_ flag: String, from arguments: [String]) -> [String] {
        var out: [String] = []
        var skip = false
        for a in arguments {
            if skip { skip = false; continue }
            if a == flag { skip = true; continue }
            if a.hasPrefix(flag + "=") { continue }
            out.append(a)
        }
        return out
    }
}
