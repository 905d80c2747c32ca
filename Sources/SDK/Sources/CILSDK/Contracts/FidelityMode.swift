/// Where the original code has a quirk or bug (docs/ALGORITHMS.md §8), a run chooses to
/// reproduce it (`faithful`) or fix it (`corrected`); every run records which.
public enum FidelityMode: String, Sendable, Codable, CaseIterable {
    case faithful
    case corrected
}
